package server

import (
	"errors"
	"fmt"
	"strings"

	aetherkv "github.com/aether-kv/aether-kv"
)

// storeError writes the error reply for an error of the store, and logs
// the errors that are not the client's doing.
func (s *Server) storeError(c *conn, err error) {
	if clusterError(c, err) {
		return
	}
	switch {
	case errors.Is(err, aetherkv.ErrKeyEmpty):
		c.out.error("ERR empty keys are not supported")
	case errors.Is(err, aetherkv.ErrKeyTooLarge):
		c.out.error(fmt.Sprintf("ERR key is too large (MAX_KEY_SIZE is %d bytes)", s.cfg.MaxKeySize))
	case errors.Is(err, aetherkv.ErrValueTooLarge):
		c.out.error(s.valueTooLarge())
	case errors.Is(err, aetherkv.ErrClosed):
		c.out.error(errShuttingDown)
	default:
		s.warned.log(s.log, "store", "store error", "err", err)
		c.out.error("ERR " + strings.TrimPrefix(err.Error(), "aetherkv: "))
	}
}

// valueTooLarge is the error for a value over MaxValueSize, in Redis's
// words for a string over its proto-max-bulk-len.
func (s *Server) valueTooLarge() string {
	return fmt.Sprintf("ERR string exceeds maximum allowed size (MAX_VALUE_SIZE is %d bytes)", s.cfg.MaxValueSize)
}

// checkWrite returns the error reply for a Put of key and value that the
// store would refuse for its size, or "".
func (s *Server) checkWrite(key, value []byte) string {
	switch {
	case len(key) == 0:
		return "ERR empty keys are not supported"
	case len(key) > s.cfg.MaxKeySize:
		return fmt.Sprintf("ERR key is too large (MAX_KEY_SIZE is %d bytes)", s.cfg.MaxKeySize)
	case len(value) > s.cfg.MaxValueSize:
		return s.valueTooLarge()
	}
	return ""
}
