package lookml_test

import (
	"fmt"
	"strings"
	"unicode"
)

// node is one parsed LookML parameter: `key: value`, `key: name { … }` or
// `key: { … }`. The tests read the generated text with it, not the
// generator's own structures, so that they check what Looker will read.
type node struct {
	key, name string
	// value is a scalar, a string without its quotes, or SQL without ;;.
	value string
	// list holds the items of a [a, b: "c"] value, as written.
	list     []string
	children []*node
	block    bool
}

// child returns the first child with the key.
func (n *node) child(key string) (*node, bool) {
	for _, c := range n.children {
		if c.key == key {
			return c, true
		}
	}
	return nil, false
}

// get is the value of the first child with the key.
func (n *node) get(key string) string {
	if c, ok := n.child(key); ok {
		return c.value
	}
	return ""
}

// all returns the children with the key.
func (n *node) all(key string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.key == key {
			out = append(out, c)
		}
	}
	return out
}

type parser struct {
	src string
	pos int
}

// parseLookML parses a file into its top-level parameters.
func parseLookML(src string) ([]*node, error) {
	p := &parser{src: src}
	nodes, err := p.params(false)
	if err != nil {
		line := strings.Count(src[:min(p.pos, len(src))], "\n") + 1
		return nil, fmt.Errorf("line %d: %w", line, err)
	}
	return nodes, nil
}

// params reads parameters up to the end of the input or, in a block, to
// its closing brace.
func (p *parser) params(inBlock bool) ([]*node, error) {
	var out []*node
	for {
		p.space()
		if p.pos >= len(p.src) {
			if inBlock {
				return nil, fmt.Errorf("unclosed block")
			}
			return out, nil
		}
		if p.src[p.pos] == '}' {
			if !inBlock {
				return nil, fmt.Errorf("unexpected }")
			}
			p.pos++
			return out, nil
		}
		n, err := p.param()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
}

func (p *parser) param() (*node, error) {
	key := p.word()
	if key == "" {
		return nil, fmt.Errorf("expected a parameter, found %q", p.rest(20))
	}
	p.space()
	if !p.eat(':') {
		return nil, fmt.Errorf("expected : after %s", key)
	}
	p.inline()
	n := &node{key: key}
	switch {
	case strings.HasPrefix(key, "sql"):
		end := strings.Index(p.src[p.pos:], ";;")
		if end < 0 {
			return nil, fmt.Errorf("%s: no ;;", key)
		}
		n.value = strings.TrimSpace(p.src[p.pos : p.pos+end])
		p.pos += end + 2
	case p.peek() == '"':
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		n.value = s
	case p.peek() == '[':
		items, err := p.listItems()
		if err != nil {
			return nil, err
		}
		n.list = items
	case p.peek() == '{':
		p.pos++
		children, err := p.params(true)
		if err != nil {
			return nil, err
		}
		n.block, n.children = true, children
	default:
		n.value = p.word()
		if n.value == "" {
			return nil, fmt.Errorf("%s: no value", key)
		}
		p.inline()
		if p.peek() == '{' {
			p.pos++
			children, err := p.params(true)
			if err != nil {
				return nil, err
			}
			n.name, n.value, n.block, n.children = n.value, "", true, children
		}
	}
	return n, nil
}

// space skips white space and # comments.
func (p *parser) space() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case unicode.IsSpace(rune(c)):
			p.pos++
		default:
			return
		}
	}
}

// inline skips spaces and tabs on the line.
func (p *parser) inline() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := rune(p.src[p.pos])
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune("_.*-+", c) {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) quoted() (string, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.src) {
				return "", fmt.Errorf("unfinished escape")
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case '"':
			p.pos++
			return b.String(), nil
		case '\n':
			return "", fmt.Errorf("a string runs over a line")
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", fmt.Errorf("unclosed string")
}

// listItems reads [a, b: "c"], splitting at commas outside quotes.
func (p *parser) listItems() ([]string, error) {
	p.pos++ // [
	var items []string
	var cur strings.Builder
	inQuote := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		switch {
		case c == '\\' && inQuote && p.pos < len(p.src):
			cur.WriteByte(c)
			cur.WriteByte(p.src[p.pos])
			p.pos++
		case c == '"':
			inQuote = !inQuote
			cur.WriteByte(c)
		case c == ',' && !inQuote:
			items = append(items, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ']' && !inQuote:
			if s := strings.TrimSpace(cur.String()); s != "" || len(items) > 0 {
				items = append(items, s)
			}
			return items, nil
		default:
			cur.WriteByte(c)
		}
	}
	return nil, fmt.Errorf("unclosed list")
}

func (p *parser) eat(c byte) bool {
	if p.peek() == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) rest(n int) string { return p.src[p.pos:min(p.pos+n, len(p.src))] }
