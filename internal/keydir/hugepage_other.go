//go:build !linux

package keydir

// CollapseTables does nothing here: only Linux has MADV_COLLAPSE. See the
// Linux version.
func (k *Keydir) CollapseTables(stop func() bool) (int, error) { return 0, nil }
