package optimizer

import (
	"strconv"

	"github.com/arena-dev/arena/guest"
)

// Role is what a tensor of the model is for: guest.Role, whose numbers
// are arena.TensorRole's.
type Role = guest.Role

// The roles, as guest names them.
const (
	Flat      = guest.Flat
	Embedding = guest.Embedding
	Position  = guest.Position
	AttnQ     = guest.AttnQ
	AttnK     = guest.AttnK
	AttnV     = guest.AttnV
	AttnO     = guest.AttnO
	MLPIn     = guest.MLPIn
	MLPOut    = guest.MLPOut
	NormGain  = guest.NormGain
	Head      = guest.Head
)

// Tensor is one tensor of the model: a Rows × Cols matrix stored
// row-major in the flat parameter vector from element Offset on (a
// vector is one row).
type Tensor struct {
	Name               string
	Role               Role
	Rows, Cols, Offset int
	// Params and Grads are this tensor's slices of the current step's
	// flat buffers (Rows·Cols values each); nil during Init.
	Params, Grads []float64
}

// Size is the tensor's element count, Rows·Cols.
func (t Tensor) Size() int { return t.Rows * t.Cols }

// TensorOptimizer is an update rule that sees the model's tensors.
type TensorOptimizer interface {
	// Init is called once per task with the tensors, in order of their
	// offsets, which tile the parameter vector exactly. steps is the
	// run's total number of optimizer steps, or 0 when unknown.
	Init(tensors []Tensor, steps int)
	// Step updates every tensor's Params in place, given its Grads and
	// the minibatch loss; t counts from 0. The tensors are Init's, in the
	// same order, with Params and Grads set.
	Step(t int, tensors []Tensor, loss float64)
}

// Slices cuts flat params and grads into the tensors' Params and Grads,
// each capped at its own length (appending to one cannot write into the
// next). Host-side runners of a TensorOptimizer use it too. A nil params
// or grads leaves the tensors' slices nil.
func Slices(tensors []Tensor, params, grads []float64) {
	for i := range tensors {
		t := &tensors[i]
		lo, hi := t.Offset, t.Offset+t.Size()
		t.Params, t.Grads = nil, nil
		if params != nil {
			t.Params = params[lo:hi:hi]
		}
		if grads != nil {
			t.Grads = grads[lo:hi:hi]
		}
	}
}

const (
	entryBytes = guest.TableEntryBytes
	maxTensors = guest.MaxTensors
)

// parseTable is guest.ParseTable, as the optimizer's tensors.
func parseTable(b []byte, count, n int) ([]Tensor, error) {
	entries, err := guest.ParseTable(b, count, n)
	if err != nil {
		return nil, err
	}
	tensors := make([]Tensor, len(entries))
	for i, e := range entries {
		tensors[i] = Tensor{Name: e.Name, Role: e.Role, Rows: e.Rows, Cols: e.Cols, Offset: e.Offset}
	}
	return tensors, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
