package guest

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Role mirrors arena.TensorRole's numbers (the SDK must stay free of host
// packages): what a tensor of the model is for.
type Role uint32

const (
	Flat      Role = iota // an unstructured vector (what a host without structure hands over)
	Embedding             // token embedding, vocab × width
	Position              // learned positions, context × width
	AttnQ                 // attention query projection, width × width
	AttnK                 // attention key projection
	AttnV                 // attention value projection
	AttnO                 // attention output projection
	MLPIn                 // MLP up projection, width × 4·width
	MLPOut                // MLP down projection, 4·width × width
	NormGain              // a norm's gain, 1 × width
	Head                  // output head, width × vocab
)

var roleNames = [...]string{"flat", "embedding", "position", "attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out", "norm_gain", "head"}

// Hidden reports whether the role is a hidden-layer weight matrix (AttnQ
// to MLPOut): the tensors matrix-aware optimizers such as Muon treat as
// matrices.
func (r Role) Hidden() bool { return r >= AttnQ && r <= MLPOut }

// String is the role's name, as arena.TensorRole spells it ("attn_q"),
// or "unknown".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "unknown"
}

// TableEntry is one entry of the tensor table the host hands a module
// (the optimizer's opt_init2, the gradient compressor's gc_init2): a
// Rows × Cols matrix stored row-major in the flat vector from element
// Offset on (a vector is one row).
type TableEntry struct {
	Name               string
	Role               Role
	Rows, Cols, Offset int
}

// Size is the entry's element count, Rows·Cols.
func (t TableEntry) Size() int { return t.Rows * t.Cols }

// The tensor table as the host writes it into memory: count entries of
// TableEntryBytes, little-endian (docs/optimizer-abi.md).
const (
	TableEntryBytes = 48
	nameBytes       = 32 // UTF-8, NUL-padded: names of at most 31 bytes
	MaxTensors      = 4096
)

// ParseTable reads count entries of the tensor table in b for n
// parameters, and checks what the host promises: names of 1 to 31 bytes
// of UTF-8, NUL-padded and unique; rows and cols of at least 1; entries
// in order of their offsets, tiling [0, n) exactly. Roles are not
// checked: a newer host may know more of them than this SDK.
func ParseTable(b []byte, count, n int) ([]TableEntry, error) {
	if count < 1 || count > MaxTensors {
		return nil, errors.New("a table of " + itoa(count) + " tensors; 1 to " + itoa(MaxTensors))
	}
	if len(b) != count*TableEntryBytes {
		return nil, errors.New("a table of " + itoa(count) + " tensors in " + itoa(len(b)) + " bytes, not " + itoa(count*TableEntryBytes))
	}
	tensors := make([]TableEntry, count)
	seen := make(map[string]bool, count)
	end := 0
	for i := range tensors {
		e := b[i*TableEntryBytes : (i+1)*TableEntryBytes]
		name := e[:nameBytes]
		size := 0
		for size < nameBytes && name[size] != 0 {
			size++
		}
		for _, c := range name[size:] {
			if c != 0 {
				return nil, errors.New("entry " + itoa(i) + ": the name is not NUL-padded")
			}
		}
		t := TableEntry{
			Name:   string(name[:size]),
			Role:   Role(u32(e[32:])),
			Rows:   int(u32(e[36:])),
			Cols:   int(u32(e[40:])),
			Offset: int(u32(e[44:])),
		}
		switch {
		case size == 0 || size == nameBytes:
			return nil, errors.New("entry " + itoa(i) + ": a name of " + itoa(size) + " bytes; 1 to " + itoa(nameBytes-1))
		case !utf8.ValidString(t.Name):
			return nil, errors.New("entry " + itoa(i) + ": the name " + strconv.Quote(t.Name) + " is not UTF-8")
		case seen[t.Name]:
			return nil, errors.New("entry " + itoa(i) + ": the name " + strconv.Quote(t.Name) + " is used twice")
		case t.Rows < 1 || t.Cols < 1:
			return nil, errors.New(t.Name + ": " + itoa(t.Rows) + " × " + itoa(t.Cols))
		case t.Offset != end:
			return nil, errors.New(t.Name + " starts at " + itoa(t.Offset) + ", not where the tensors before it end (" + itoa(end) + ")")
		case t.Rows > n-end || t.Cols > (n-end)/t.Rows: // Rows·Cols > n-end, without overflow
			return nil, errors.New(t.Name + " (" + itoa(t.Rows) + " × " + itoa(t.Cols) + " from " + itoa(end) + ") ends past the " + itoa(n) + " parameters")
		}
		seen[t.Name] = true
		end += t.Size()
		tensors[i] = t
	}
	if end != n {
		return nil, errors.New("the tensors hold " + itoa(end) + " parameters, not " + itoa(n))
	}
	return tensors, nil
}

// u32 reads a little-endian uint32. The SDK stays off encoding/binary and
// fmt, whose package initialization every task would pay for in fuel.
func u32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func itoa(i int) string { return strconv.Itoa(i) }
