package daggerengine

import "testing"

func TestModuleVersion(t *testing.T) {
	for _, tc := range []struct{ build, digest, want string }{
		{"v0.4.0", "sha256:0123456789abcdef0123", "v0.4.0"},
		{"dev", "sha256:0123456789abcdef0123", "dev+0123456789ab"},
		{"dev", "", "dev"},
	} {
		if got := ModuleVersion(tc.build, tc.digest); got != tc.want {
			t.Errorf("ModuleVersion(%q, %q) = %q, want %q", tc.build, tc.digest, got, tc.want)
		}
	}
}
