package optimizer_test

import (
	"reflect"
	"testing"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/guest/optimizer"
)

// The SDK mirrors the host's roles without importing it: the numbers are
// the ABI's, the names the logs'.
func TestRolesAreTheHostsRoles(t *testing.T) {
	for r := range 12 { // one past the last
		guest, host := optimizer.Role(r), arena.TensorRole(r)
		if guest.String() != host.String() || guest.Hidden() != host.Hidden() {
			t.Errorf("role %d: %s (hidden %v) in the SDK, %s (hidden %v) on the host", r, guest, guest.Hidden(), host, host.Hidden())
		}
	}
	pairs := map[optimizer.Role]arena.TensorRole{
		optimizer.Flat: arena.TensorFlat, optimizer.Embedding: arena.TensorEmbedding, optimizer.Position: arena.TensorPosition,
		optimizer.AttnQ: arena.TensorAttnQ, optimizer.AttnK: arena.TensorAttnK, optimizer.AttnV: arena.TensorAttnV, optimizer.AttnO: arena.TensorAttnO,
		optimizer.MLPIn: arena.TensorMLPIn, optimizer.MLPOut: arena.TensorMLPOut, optimizer.NormGain: arena.TensorNormGain, optimizer.Head: arena.TensorHead,
	}
	for g, h := range pairs {
		if uint32(g) != uint32(h) {
			t.Errorf("%s is %d in the SDK, %d on the host", g, g, h)
		}
	}
}

// Slices cuts what the host's tensors say, tensor by tensor. (That the
// host's encoding of a table is what the SDK parses is pinned on both
// sides by the same worked example, docs/optimizer-abi.md's.)
func TestSlicesFollowTheHostsTable(t *testing.T) {
	host := []arena.Tensor{
		{Name: "wte", Role: arena.TensorEmbedding, Rows: 4, Cols: 3, Offset: 0},
		{Name: "h0.attn.q", Role: arena.TensorAttnQ, Rows: 3, Cols: 3, Offset: 12},
		{Name: "ln_f.g", Role: arena.TensorNormGain, Rows: 1, Cols: 3, Offset: 21},
	}
	n := 0
	var guest []optimizer.Tensor
	for _, h := range host {
		guest = append(guest, optimizer.Tensor{Name: h.Name, Role: optimizer.Role(h.Role), Rows: h.Rows, Cols: h.Cols, Offset: h.Offset})
		n += h.Size()
	}
	params := make([]float64, n)
	for i := range params {
		params[i] = float64(i)
	}
	optimizer.Slices(guest, params, params)
	for i, h := range host {
		if want := params[h.Offset : h.Offset+h.Size()]; !reflect.DeepEqual(guest[i].Params, want) || guest[i].Size() != h.Size() {
			t.Errorf("%s: %v, want %v", h.Name, guest[i].Params, want)
		}
	}
}
