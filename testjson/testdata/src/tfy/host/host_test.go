package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostname(t *testing.T) {
	assert.Equal(t, "alpine", "debian", "hostname of the image")
}

func TestRequire(t *testing.T) {
	require.NoError(t, errFake{}, "reading /etc/os-release")
}

func TestParent(t *testing.T) {
	t.Run("child", func(t *testing.T) { assert.True(t, false) })
}

type errFake struct{}

func (errFake) Error() string { return "open /etc/os-release: no such file or directory" }
