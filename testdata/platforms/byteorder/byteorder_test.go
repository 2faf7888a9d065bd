package byteorder

import "testing"

// TestBytesAreLittleEndian diverges on big-endian s390x: memory holds
// 0x11 first there, 0x44 first on amd64, arm64 and 386.
func TestBytesAreLittleEndian(t *testing.T) {
	if got, want := Bytes(0x11223344), [4]byte{0x44, 0x33, 0x22, 0x11}; got != want {
		t.Fatalf("Bytes(0x11223344) = % x, want % x (little-endian)", got, want)
	}
}
