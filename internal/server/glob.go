package server

// globMatch reports whether s matches the Redis glob pattern pat, with the
// semantics of Redis's stringmatchlen, byte by byte:
//
//   - any run of bytes, the empty one too
//     ?        any one byte
//     [abc]    one of a, b, c; [^abc] any other byte; [a-z] a range, whose
//     ends may be given in either order; \ escapes inside brackets.
//     "[]" is an empty set, and a set left open runs to the end
//     of the pattern.
//     \c       the byte c itself; a trailing \ matches a backslash
//
// It backtracks only to the last star, so its cost is at most
// len(pat)*len(s) steps, whatever the pattern.
func globMatch(pat, s []byte) bool {
	p, i := 0, 0
	star, starI := -1, 0 // the last star seen, and where in s its match ends
	for i < len(s) {
		if p < len(pat) {
			if pat[p] == '*' {
				star, starI = p, i
				p++
				continue
			}
			if n, ok := matchOne(pat[p:], s[i]); ok {
				p += n
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		starI++ // let the last star take one more byte
		p, i = star+1, starI
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// matchOne reports whether the pattern element at the start of pat, which
// is not a star, matches c, and how many bytes of pat the element spans.
func matchOne(pat []byte, c byte) (n int, ok bool) {
	switch pat[0] {
	case '?':
		return 1, true
	case '[':
		return matchSet(pat, c)
	case '\\':
		if len(pat) >= 2 {
			return 2, pat[1] == c
		}
	}
	return 1, pat[0] == c
}

// matchSet matches c against the bracket expression at the start of pat.
func matchSet(pat []byte, c byte) (n int, ok bool) {
	j := 1
	not := j < len(pat) && pat[j] == '^'
	if not {
		j++
	}
	match := false
	for ; j < len(pat) && pat[j] != ']'; j++ {
		switch {
		case pat[j] == '\\' && j+1 < len(pat):
			j++
			match = match || pat[j] == c
		case j+2 < len(pat) && pat[j+1] == '-':
			lo, hi := pat[j], pat[j+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			match = match || (c >= lo && c <= hi)
			j += 2
		default:
			match = match || pat[j] == c
		}
	}
	if j < len(pat) {
		j++ // the closing bracket
	}
	return j, match != not
}
