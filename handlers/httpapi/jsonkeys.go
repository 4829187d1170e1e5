package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// maxJSONDepth bounds the nesting of a request body. The deepest body the
// API takes nests three objects; the bound keeps the key scan's stack
// small whatever a client sends.
const maxJSONDepth = 32

// checkJSONKeys scans a JSON body token by token before it is decoded into
// dst (a pointer to a struct) and refuses what encoding/json would
// silently accept:
//   - a key given twice in one object (encoding/json keeps the last one:
//     "amountCents":100,"amountCents":7777 would be read as 7777);
//   - a key that is not spelled exactly as the field's name (encoding/json
//     matches names without regard to case, so "AmountCents", or
//     "amountCentſ" with a long s, would fill amountCents), including two
//     keys that differ only by case;
//   - nesting deeper than maxJSONDepth.
//
// It stops at the first unknown field or the first value of the wrong
// kind, which the decoder refuses anyway, so that a large hostile body
// costs little. The scan uses the standard library's own tokenizer (json.Decoder.Token),
// so it reads the body exactly as the decoder will; a maintained
// alternative decoder (e.g. encoding/json/v2, which rejects duplicates and
// is case-sensitive, still behind GOEXPERIMENT in Go 1.26) would bring its
// own reading of corner cases. Syntax errors are left to the decoder,
// which reports them with their offset; unknown keys too.
func checkJSONKeys(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*jsonFrame
	root := reflect.TypeOf(dst)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF or a syntax error: the decoder reports it
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object && top.wantKey {
			key, _ := tok.(string)
			if err := top.key(key); err == errStopScan {
				return nil
			} else if err != nil {
				return err
			}
			continue
		}
		// A value: its type is the field's, the array's element's, or the
		// body's.
		var t reflect.Type
		var path string
		switch {
		case top == nil:
			t = root
		case top.object:
			t, path = top.valueType, top.valuePath
			top.wantKey = true
		default:
			t, path = top.target, top.path+"[]"
		}
		d, ok := tok.(json.Delim)
		if !ok {
			continue
		}
		if len(stack) >= maxJSONDepth {
			return &domain.ValidationError{Errors: []domain.FieldError{{Field: path, Message: fmt.Sprintf("nests deeper than %d levels", maxJSONDepth)}}}
		}
		if t = indirect(t); t == nil {
			return nil
		}
		f := &jsonFrame{path: path, object: d == '{', wantKey: d == '{'}
		switch k := t.Kind(); {
		case k == reflect.Interface:
			f.target = t // any: objects and arrays of anything
		case f.object && k == reflect.Struct:
			f.target, f.fields = t, structFields(t)
		case f.object && k == reflect.Map:
			f.target = t.Elem()
		case !f.object && (k == reflect.Slice || k == reflect.Array):
			f.target = t.Elem()
		default:
			// An object or array where the target takes neither: the
			// decoder refuses the body with a type error; nothing more to
			// scan.
			return nil
		}
		stack = append(stack, f)
	}
}

// errStopScan ends the key scan early: the rest is the decoder's to refuse.
var errStopScan = errors.New("stop scanning")

// jsonFrame is an object or array being scanned.
type jsonFrame struct {
	path   string
	object bool
	// target is the type of the values inside: a struct's (whose fields
	// give each value's type), a map's or an array's element type, or an
	// interface.
	target reflect.Type
	fields *jsonFields
	// For an object: the keys seen, whether a key comes next, and the type
	// and path of the value after the last key.
	seen      map[string]string // folded key → key as given
	wantKey   bool
	valueType reflect.Type
	valuePath string
}

// key checks an object's key and prepares for its value.
func (f *jsonFrame) key(k string) error {
	path := k
	if f.path != "" {
		path = f.path + "." + k
	}
	fk := foldKey(k)
	if s, dup := f.seen[fk]; dup {
		if s == k {
			return keyError(path, "is given more than once")
		}
		return keyError(path, fmt.Sprintf("is given more than once (also as %q): keys are case-sensitive", s))
	}
	if f.seen == nil {
		f.seen = map[string]string{}
	}
	f.seen[fk] = k
	f.wantKey, f.valuePath, f.valueType = false, path, f.target
	if f.fields == nil {
		return nil
	}
	if t, ok := f.fields.byName[k]; ok {
		f.valueType = t
		return nil
	}
	if name, ok := f.fields.byFold[fk]; ok {
		return keyError(path, fmt.Sprintf("unknown field: keys are case-sensitive, did you mean %q?", name))
	}
	return errStopScan // an unknown field: the decoder refuses it
}

func keyError(field, msg string) error {
	return &domain.ValidationError{Errors: []domain.FieldError{{Field: field, Message: msg}}}
}

// foldKey returns the canonical case fold of s: each rune replaced by the
// smallest rune of its simple case-folding orbit, so that two keys have the
// same fold exactly when strings.EqualFold (and encoding/json's field
// matching) treats them as equal ("K", "k" and the Kelvin sign; "S", "s"
// and the long s).
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

// indirect returns t without its pointers (nil for nil).
func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields are a struct's JSON field names, exact and folded.
type jsonFields struct {
	byName map[string]reflect.Type
	byFold map[string]string // foldKey(name) → name
}

// structFieldCache maps a struct type to its *jsonFields.
var structFieldCache sync.Map

// structFields returns the JSON names of a struct's fields, as
// encoding/json sees them (tag name, else the Go name; embedded structs
// flattened), with their types.
func structFields(t reflect.Type) *jsonFields {
	if v, ok := structFieldCache.Load(t); ok {
		return v.(*jsonFields)
	}
	out := &jsonFields{byName: map[string]reflect.Type{}, byFold: map[string]string{}}
	add := func(name string, ft reflect.Type) {
		out.byName[name] = ft
		out.byFold[foldKey(name)] = name
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			if et := indirect(sf.Type); et.Kind() == reflect.Struct {
				for n, ft := range structFields(et).byName {
					add(n, ft)
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		add(name, sf.Type)
	}
	structFieldCache.Store(t, out)
	return out
}
