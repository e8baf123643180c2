package loadbigquery

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// keyPolicy is what happens to the personal keys of a JSON column whose
// keys the contract classifies (schemas.Keys): keyNone for any other
// column.
type keyPolicy int

const (
	keyNone keyPolicy = iota
	keyHash
	keyDrop
)

// keys is the policy's rule for the keys of col: the one apply is for
// columns, key by key.
func (p PIIPolicy) keys(col schemas.Column) keyPolicy {
	switch {
	case col.Keys == nil:
		return keyNone
	case p == PIIHash:
		return keyHash
	}
	// Drop, and a policy nightshift does not know: nothing personal leaves.
	return keyDrop
}

// keyClass is a key's classification, cached per (type, key): a column
// has a few dozen keys over millions of rows.
type keyClass struct {
	col      schemas.Column
	personal bool
	known    bool
}

// keyRewriter rewrites the JSON objects of one column under its policy.
type keyRewriter struct {
	keys   *schemas.Keys
	policy keyPolicy
	mac    hash.Hash
	cache  map[[2]string]keyClass
	buf    bytes.Buffer
	sum    []byte
}

func newKeyRewriter(keys *schemas.Keys, policy keyPolicy, mac hash.Hash) *keyRewriter {
	return &keyRewriter{keys: keys, policy: policy, mac: mac, cache: map[[2]string]keyClass{}}
}

func (w *keyRewriter) class(typ, key string) keyClass {
	k := [2]string{typ, key}
	c, ok := w.cache[k]
	if !ok {
		col, pii, known := w.keys.Classify(typ, key)
		c = keyClass{col: col, personal: pii != schemas.PIINone, known: known}
		w.cache[k] = c
	}
	return c
}

// rewrite returns the column's values with every personal key hashed or
// left out; by holds, per row, the value of the column that says whose
// columns the keys are (nil when none does).
func (w *keyRewriter) rewrite(arr, by arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	in, ok := arr.(*array.String)
	if !ok {
		return nil, fmt.Errorf("a JSON column with classified keys is %s, not text", arr.DataType())
	}
	var types *array.String
	if by != nil {
		if types, ok = by.(*array.String); !ok {
			return nil, fmt.Errorf("the column that classifies JSON keys is %s, not text", by.DataType())
		}
	}
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(in.Len())
	for i := range in.Len() {
		if in.IsNull(i) {
			b.AppendNull()
			continue
		}
		typ := ""
		if types != nil && !types.IsNull(i) {
			typ = types.Value(i)
		}
		out, null := w.object(typ, in.Value(i))
		if null {
			b.AppendNull()
			continue
		}
		b.BinaryBuilder.Append(out)
	}
	return b.NewArray(), nil
}

// object rewrites one JSON value. What is not an object cannot be
// classified, so it is personal as a whole: hashed as one value, or NULL.
func (w *keyRewriter) object(typ, text string) ([]byte, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil || obj == nil {
		if w.policy == keyDrop {
			return nil, true
		}
		return w.hashValue(keyClass{}, json.RawMessage(text)), false
	}
	w.buf.Reset()
	w.buf.WriteByte('{')
	first := true
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		value := obj[key]
		c := w.class(typ, key)
		if c.personal {
			if w.policy == keyDrop {
				continue
			}
			value = w.hashChange(c, value)
		}
		if !first {
			w.buf.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(key) // a string always marshals
		w.buf.Write(name)
		w.buf.WriteByte(':')
		w.buf.Write(value)
	}
	w.buf.WriteByte('}')
	return bytes.Clone(w.buf.Bytes()), false
}

// hashChange hashes a value, or each element of an [old, new] pair when
// the keys hold changes, keeping the pair's shape.
func (w *keyRewriter) hashChange(c keyClass, value json.RawMessage) json.RawMessage {
	if w.keys.Changes {
		var pair []json.RawMessage
		if err := json.Unmarshal(value, &pair); err == nil && len(pair) == 2 {
			return json.RawMessage("[" + string(w.hashValue(c, pair[0])) + "," + string(w.hashValue(c, pair[1])) + "]")
		}
	}
	return w.hashValue(c, value)
}

// hashValue is the JSON string of the hex HMAC-SHA256 of the value's text,
// the text the column's own hash is of (valueText): a string's characters,
// a number's digits, true or false, a date as 2006-01-02 and a timestamp
// as 2006-01-02 15:04:05.999999 in UTC. null stays null.
func (w *keyRewriter) hashValue(c keyClass, value json.RawMessage) json.RawMessage {
	value = bytes.TrimSpace(value)
	if string(value) == "null" {
		return value
	}
	text := string(value)
	var s string
	if json.Unmarshal(value, &s) == nil {
		text = s
		if c.known && c.col.Type == schemas.Timestamp {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				text = t.UTC().Format("2006-01-02 15:04:05.999999")
			}
		}
	} else if strings.HasPrefix(text, "{") || strings.HasPrefix(text, "[") {
		var compact bytes.Buffer
		if json.Compact(&compact, value) == nil {
			text = compact.String()
		}
	}
	w.mac.Reset()
	w.mac.Write([]byte(text))
	w.sum = w.mac.Sum(w.sum[:0])
	return json.RawMessage(`"` + hex.EncodeToString(w.sum) + `"`)
}
