package api

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/arena-dev/arena"
)

// checkText refuses, as invalid, a string the database cannot store as
// text: invalid UTF-8, or a NUL byte (which JSON can carry as \u0000).
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return arena.Errorf(arena.EINVALID, "%s: must be UTF-8 text", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return arena.Errorf(arena.EINVALID, "%s: must not contain a NUL byte (\\u0000)", field)
	}
	return nil
}

// checkJSONText refuses JSON the database cannot store as jsonb: a string
// or key holding \u0000.
func checkJSONText(field string, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return arena.Errorf(arena.EINVALID, "%s: %v", field, err)
	}
	var walk func(any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case string:
			return checkText(field, v)
		case []any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		case map[string]any:
			for k, e := range v {
				if err := checkText(field, k); err != nil {
					return err
				}
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(v)
}
