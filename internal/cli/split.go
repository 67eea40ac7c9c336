package cli

import "github.com/aether-kv/aether-kv/internal/splitargs"

// Errors of Split, for errors.Is.
var (
	ErrUnterminatedQuote = splitargs.ErrUnterminatedQuote
	ErrQuoteNotSeparated = splitargs.ErrQuoteNotSeparated
)

// Split breaks a shell line into arguments with the rules of redis-cli:
// see splitargs.Split.
func Split(line string) ([]string, error) { return splitargs.Split(line) }
