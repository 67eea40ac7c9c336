package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expandNode replaces environment references in the value of the scalar
// node n. Only the node's value changes, so an expanded value can never add
// keys or structure to the document. A plain (unquoted) scalar is tagged as
// text: every setting is read from its text, and a variable holding "null"
// or "~" must stay that text (PASSWORD: ${P} with P=null was an empty
// password, authentication off).
func expandNode(n *yaml.Node, getenv func(string) (string, bool)) error {
	if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "$") {
		return nil
	}
	v, err := expand(n.Value, getenv)
	if err != nil {
		return err
	}
	n.Value = v
	if n.Style == 0 {
		n.Tag = "!!str"
	}
	return nil
}

// expand replaces $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
// ${VAR:?message} and ${VAR?message} in s, and $$ with a literal $. A
// default is literal text: it may not hold another reference.
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	if err := checkBraces(s); err != nil {
		return "", err
	}
	if err := checkBare(s, getenv); err != nil {
		return "", err
	}
	var errs []error
	out := os.Expand(s, func(ref string) string {
		v, err := lookup(ref, getenv)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	})
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return out, nil
}

// checkBraces reports a "${" without its "}" and an empty "${}", which
// os.Expand would silently drop.
func checkBraces(s string) error {
	for rest := s; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		switch {
		case j < 0:
			return fmt.Errorf("reference %q has no closing brace", rest[i:])
		case j == 2:
			return fmt.Errorf("empty reference \"${}\" in %q", s)
		}
		rest = rest[i+j+1:]
	}
}

// checkBare reports a bare $NAME whose variable is not set: more likely a
// literal $ in a value (a password "Pa$sw0rd" was loaded as "Pa") than a
// reference meant to be empty, which ${NAME} says.
func checkBare(s string, getenv func(string) (string, bool)) error {
	for i := 0; i < len(s)-1; i++ {
		if s[i] != '$' {
			continue
		}
		switch s[i+1] {
		case '$':
			i++ // $$: a literal $
			continue
		case '{':
			i += strings.IndexByte(s[i:], '}') // ${...}: braced (checkBraces found its end)
			continue
		}
		name, _ := splitName(s[i+1:])
		if name == "" {
			continue
		}
		if _, set := getenv(name); !set {
			return fmt.Errorf("$%s refers to environment variable %s, which is not set: write $$ for a literal $, or ${%s} for a variable that may be unset", name, name, name)
		}
	}
	return nil
}

// lookup resolves one reference, given as os.Expand passes it: the text
// between the braces, or the name after a bare $.
func lookup(ref string, getenv func(string) (string, bool)) (string, error) {
	if ref == "$" { // $$ or ${$}
		return "$", nil
	}
	name, op := splitName(ref)
	if name == "" {
		return "", fmt.Errorf("bad reference %q: want ${NAME}, ${NAME:-default} or ${NAME-default}", "${"+ref+"}")
	}
	v, set := getenv(name)
	if op == "" {
		return v, nil
	}
	colon := strings.HasPrefix(op, ":") // ":-" and ":?" treat empty as unset
	if colon {
		op = op[1:]
		set = set && v != ""
	}
	if op == "" || op[0] != '-' && op[0] != '?' {
		return "", fmt.Errorf("bad reference %q: want ${NAME}, ${NAME:-default} or ${NAME-default}", "${"+ref+"}")
	}
	kind, arg := op[0], op[1:]
	if strings.Contains(arg, "$") {
		return "", fmt.Errorf("bad reference %q: a default may not contain another reference", "${"+ref+"}")
	}
	switch {
	case set:
		return v, nil
	case kind == '?':
		if arg == "" {
			arg = "not set"
		}
		return "", fmt.Errorf("environment variable %s: %s", name, arg)
	default:
		return arg, nil
	}
}

// splitName splits ref into a leading variable name (a letter or _ then
// letters, digits and _) and what follows it.
func splitName(ref string) (name, rest string) {
	i := 0
	for i < len(ref) {
		c := ref[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			i++
			continue
		}
		break
	}
	return ref[:i], ref[i:]
}
