package lm

import (
	"fmt"
	"math"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/detmath"
)

// LayerNorm's epsilon, PyTorch's default.
const normEps = 1e-5

// sqrt(2/π), GELU's tanh approximation (Hendrycks & Gimpel 2016), which
// GPT-2 uses and PyTorch computes as gelu(approximate="tanh").
const geluC = 0.7978845608028654

// Model computes the loss and gradient of one configuration on batches of
// up to Batch sequences. It owns every buffer a step needs, so a step
// allocates nothing. A Model is for one goroutine at a time; the
// parameters are the caller's.
type Model struct {
	cfg    Config
	batch  int
	rows   int // sequences × context in the last forward pass
	seqs   int
	off    offsets
	inputs []int32 // token ids at each row
	target []int32

	x     [][]float64 // residual stream entering block l; x[Layers] enters the final norm
	xm    [][]float64 // residual stream after block l's attention
	ln1   []norm
	ln2   []norm
	lnf   norm
	q     [][]float64
	k     [][]float64
	v     [][]float64
	y     [][]float64 // attention output, heads concatenated, before attn.o
	att   [][]float64 // softmax probabilities, [seq][head][i][j], j ≤ i
	u     [][]float64 // mlp.in output
	tanh  [][]float64 // tanh of GELU's argument, kept for the backward pass
	gelu  [][]float64 // GELU(u)
	probs []float64   // softmax of the logits, rows × vocab

	// Backward scratch.
	dx, dxm, dh, dq, dk, dv, dy []float64
	du                          []float64
	wt                          []float64 // a weight matrix, transposed
	bt                          []float64 // one head's keys (or values) in a sequence, transposed
	ds                          []float64 // one head's score gradients in a sequence

	cut      Cut // nil: no cut
	cutAfter int // blocks before the cut
}

// Cut is a pipeline cut in the residual stream between two stages, as
// pipeline-parallel training with compressed activations has (IOTA;
// Huang et al. 2019, GPipe): what crosses it forward is the activation
// leaving a block, and what crosses back is the gradient with respect to
// what arrived. A cut may change either (a lossy codec does); the next
// stage computes on what it received, and the previous stage's backward
// pass starts from the gradient it received, straight-through: the cut
// itself is not differentiated. Both get rows × width row-major values
// to replace in place; an error ends the pass.
type Cut interface {
	Forward(x []float64, rows, width int) error
	Backward(dx []float64, rows, width int) error
}

// SetCut puts c after the first after blocks (1 to Layers; after Layers,
// the cut is before the final norm), or removes the cut when c is nil.
// Loss and LossGrad both pass through it.
func (m *Model) SetCut(after int, c Cut) error {
	if c != nil && (after < 1 || after > m.cfg.Layers) {
		return fieldError("cut", "must be between 1 and the %d layers, got %d", m.cfg.Layers, after)
	}
	m.cut, m.cutAfter = c, after
	return nil
}

// Cut is the cut SetCut put in, and after how many blocks; nil for none.
func (m *Model) Cut() (after int, c Cut) { return m.cutAfter, m.cut }

// norm is one LayerNorm's saved state.
type norm struct {
	xhat, out, rstd []float64
}

// offsets are where each tensor starts in the flat vector.
type offsets struct {
	tok, pos, normF, head int
	layers                []layerOffsets
}

type layerOffsets struct {
	norm1, q, k, v, o, norm2, in, out int
}

// New returns a model for cfg that takes batches of up to batch sequences.
func New(cfg Config, batch int) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if batch < 1 || batch*cfg.Context > 1<<20 {
		return nil, fieldError("batch", "must be at least 1, and batch × context at most %d, got %d", 1<<20, batch)
	}
	m := &Model{cfg: cfg, batch: batch}
	tab := cfg.Table()
	m.off.tok, m.off.pos = tab[0].Offset, tab[1].Offset
	for l := range cfg.Layers {
		t := tab[2+8*l:]
		m.off.layers = append(m.off.layers, layerOffsets{norm1: t[0].Offset, q: t[1].Offset, k: t[2].Offset, v: t[3].Offset, o: t[4].Offset, norm2: t[5].Offset, in: t[6].Offset, out: t[7].Offset})
	}
	m.off.normF, m.off.head = tab[len(tab)-2].Offset, tab[len(tab)-1].Offset

	n, d, L, T := batch*cfg.Context, cfg.Width, cfg.Layers, cfg.Context
	vec := func(size int) []float64 { return make([]float64, size) }
	many := func(count, size int) [][]float64 {
		s := make([][]float64, count)
		for i := range s {
			s[i] = vec(size)
		}
		return s
	}
	newNorm := func() norm { return norm{xhat: vec(n * d), out: vec(n * d), rstd: vec(n)} }
	m.inputs, m.target = make([]int32, n), make([]int32, n)
	m.x, m.xm = many(L+1, n*d), many(L, n*d)
	for range L {
		m.ln1, m.ln2 = append(m.ln1, newNorm()), append(m.ln2, newNorm())
	}
	m.lnf = newNorm()
	m.q, m.k, m.v, m.y = many(L, n*d), many(L, n*d), many(L, n*d), many(L, n*d)
	m.att = many(L, batch*cfg.Heads*T*T)
	m.u, m.tanh, m.gelu = many(L, n*4*d), many(L, n*4*d), many(L, n*4*d)
	m.probs = vec(n * cfg.Vocab)
	m.dx, m.dxm, m.dh, m.dq, m.dk, m.dv, m.dy = vec(n*d), vec(n*d), vec(n*d), vec(n*d), vec(n*d), vec(n*d), vec(n*d)
	m.du = vec(n * 4 * d)
	m.wt = vec(max(d*cfg.Vocab, 4*d*d))
	m.bt = vec(T * d / cfg.Heads)
	m.ds = vec(T * T)
	return m, nil
}

// Config is the model's shape.
func (m *Model) Config() Config { return m.cfg }

// Batch is the most sequences a pass takes.
func (m *Model) Batch() int { return m.batch }

// Init draws initial parameters as GPT-2 does: N(0, 0.02) for embeddings
// and matrices, the residual projections (attn.o, mlp.out) scaled by
// 1/√(2·layers), and norm gains of 1.
func (m *Model) Init(params []float64, rng *detmath.RNG) {
	const std = 0.02
	resid := std / math.Sqrt(float64(2*m.cfg.Layers))
	for _, t := range m.cfg.Table() {
		p := params[t.Offset : t.Offset+t.Size()]
		switch {
		case t.Role == arena.TensorNormGain:
			for i := range p {
				p[i] = 1
			}
		case t.Role == arena.TensorAttnO || t.Role == arena.TensorMLPOut:
			for i := range p {
				p[i] = float64(resid * rng.Normal())
			}
		default:
			for i := range p {
				p[i] = float64(std * rng.Normal())
			}
		}
	}
}

// checkBatch validates a batch of sequences of Context+1 tokens.
func (m *Model) checkBatch(params []float64, tokens []uint16) (int, error) {
	if len(params) != m.cfg.NumParams() {
		return 0, fmt.Errorf("lm: %d parameters for a model of %d", len(params), m.cfg.NumParams())
	}
	seqLen := m.cfg.Context + 1
	if len(tokens) == 0 || len(tokens)%seqLen != 0 || len(tokens)/seqLen > m.batch {
		return 0, fmt.Errorf("lm: %d tokens are not 1 to %d sequences of %d", len(tokens), m.batch, seqLen)
	}
	for _, tok := range tokens {
		if int(tok) >= m.cfg.Vocab {
			return 0, fmt.Errorf("lm: token %d is outside the vocabulary of %d", tok, m.cfg.Vocab)
		}
	}
	return len(tokens) / seqLen, nil
}

// Loss is the mean next-token cross-entropy over a batch of sequences of
// Context+1 tokens each (the first Context are inputs, the last Context
// targets).
func (m *Model) Loss(params []float64, tokens []uint16) (float64, error) {
	seqs, err := m.checkBatch(params, tokens)
	if err != nil {
		return 0, err
	}
	return m.forward(params, tokens, seqs)
}

// LossGrad is Loss, and sets grads to its gradient with respect to params.
func (m *Model) LossGrad(params, grads []float64, tokens []uint16) (float64, error) {
	seqs, err := m.checkBatch(params, tokens)
	if err != nil {
		return 0, err
	}
	if len(grads) != len(params) {
		return 0, fmt.Errorf("lm: %d gradients for %d parameters", len(grads), len(params))
	}
	loss, err := m.forward(params, tokens, seqs)
	if err != nil {
		return 0, err
	}
	return loss, m.backward(params, grads)
}

func (m *Model) forward(params []float64, tokens []uint16, seqs int) (float64, error) {
	c := m.cfg
	T, d, V := c.Context, c.Width, c.Vocab
	n := seqs * T
	m.rows, m.seqs = n, seqs
	for s := range seqs {
		seq := tokens[s*(T+1) : (s+1)*(T+1)]
		for t := range T {
			m.inputs[s*T+t], m.target[s*T+t] = int32(seq[t]), int32(seq[t+1])
		}
	}
	// Embeddings.
	x := m.x[0][:n*d]
	tok, pos := params[m.off.tok:], params[m.off.pos:]
	for r := range n {
		xr := x[r*d : r*d+d]
		te := tok[int(m.inputs[r])*d : int(m.inputs[r])*d+d]
		pe := pos[(r%T)*d : (r%T)*d+d]
		for j := range xr {
			xr[j] = te[j] + pe[j]
		}
	}
	for l, o := range m.off.layers {
		m.ln1[l].forward(m.x[l][:n*d], params[o.norm1:o.norm1+d], n, d)
		h := m.ln1[l].out[:n*d]
		matmul(m.q[l], h, params[o.q:], n, d, d)
		matmul(m.k[l], h, params[o.k:], n, d, d)
		matmul(m.v[l], h, params[o.v:], n, d, d)
		m.attention(l, seqs)
		xm := m.xm[l][:n*d]
		matmul(xm, m.y[l], params[o.o:], n, d, d)
		for i, v := range m.x[l][:n*d] {
			xm[i] += v
		}
		m.ln2[l].forward(xm, params[o.norm2:o.norm2+d], n, d)
		u, th, g := m.u[l][:n*4*d], m.tanh[l][:n*4*d], m.gelu[l][:n*4*d]
		matmul(u, m.ln2[l].out, params[o.in:], n, d, 4*d)
		for i, z := range u { // g holds tanh's argument until the last loop
			z3 := float64(float64(z*z) * z)
			g[i] = float64(geluC * (z + float64(0.044715*z3)))
		}
		detmath.TanhInto(th, g)
		for i, z := range u {
			g[i] = float64(float64(0.5*z) * (1 + th[i]))
		}
		next := m.x[l+1][:n*d]
		matmul(next, g, params[o.out:], n, 4*d, d)
		for i, v := range xm {
			next[i] += v
		}
		if m.cut != nil && l+1 == m.cutAfter {
			if err := m.cut.Forward(next, n, d); err != nil {
				return 0, err
			}
		}
	}
	m.lnf.forward(m.x[c.Layers][:n*d], params[m.off.normF:m.off.normF+d], n, d)
	probs := m.probs[:n*V]
	matmul(probs, m.lnf.out, params[m.off.head:], n, d, V)
	var total float64
	for r := range n {
		row := probs[r*V : r*V+V]
		mx := rowMax(row)
		zt := row[m.target[r]]
		for j, z := range row {
			row[j] = z - mx
		}
		detmath.ExpSlice(row)
		var sum float64
		for _, e := range row {
			sum += e
		}
		// -log softmax[target] = log(sum) - (z_target - max).
		total += detmath.Log(sum) - (zt - mx)
		inv := 1 / sum
		for j := range row {
			row[j] = float64(row[j] * inv)
		}
	}
	return total / float64(n), nil
}

// attention computes block l's causal self-attention, head by head.
func (m *Model) attention(l, seqs int) {
	c := m.cfg
	T, d, H := c.Context, c.Width, c.Heads
	dh := d / H
	scale := 1 / math.Sqrt(float64(dh))
	q, k, v, y := m.q[l], m.k[l], m.v[l], m.y[l]
	for s := range seqs {
		for h := range H {
			att := m.att[l][(s*H+h)*T*T : (s*H+h+1)*T*T]
			col := s*T*d + h*dh
			causalScores(att, q[col:], k[col:], m.bt, T, d, dh)
			for i := range T {
				p := att[i*T : i*T+i+1]
				for j := range p {
					p[j] = float64(p[j] * scale)
				}
				mx := rowMax(p)
				for j, z := range p {
					p[j] = z - mx
				}
				detmath.ExpSlice(p)
				var sum float64
				for _, e := range p {
					sum += e
				}
				inv := 1 / sum
				for j := range p {
					p[j] = float64(p[j] * inv)
				}
			}
			causalMix(y[col:], att, v[col:], T, d, dh)
		}
	}
}

// forward normalizes the n rows of x and scales them by gain.
func (ln *norm) forward(x, gain []float64, n, d int) {
	inv := 1 / float64(d)
	for r := range n {
		xr := x[r*d : r*d+d]
		var mean float64
		for _, v := range xr {
			mean += v
		}
		mean = float64(mean * inv)
		var vari float64
		for _, v := range xr {
			vari += float64((v - mean) * (v - mean))
		}
		rstd := 1 / math.Sqrt(float64(vari*inv)+normEps)
		ln.rstd[r] = rstd
		xh, out := ln.xhat[r*d:r*d+d], ln.out[r*d:r*d+d]
		for j, v := range xr {
			xh[j] = float64((v - mean) * rstd)
			out[j] = float64(xh[j] * gain[j])
		}
	}
}

// backward takes dout, the gradient at the norm's output, adds the gain's
// gradient to dgain, and sets dx (or adds to it, with add) to the input's.
func (ln *norm) backward(dout, gain, dgain, dx []float64, n, d int, add bool) {
	inv := 1 / float64(d)
	for r := range n {
		do, xh := dout[r*d:r*d+d], ln.xhat[r*d:r*d+d]
		var mdx, mdxx float64 // means of dxhat and dxhat·xhat
		for j, g := range do {
			dgain[j] += float64(g * xh[j])
			dxh := float64(g * gain[j])
			mdx += dxh
			mdxx += float64(dxh * xh[j])
		}
		mdx, mdxx = float64(mdx*inv), float64(mdxx*inv)
		rstd := ln.rstd[r]
		dxr := dx[r*d : r*d+d]
		for j, g := range do {
			dxh := float64(g * gain[j])
			v := float64(rstd * (dxh - mdx - float64(xh[j]*mdxx)))
			if add {
				dxr[j] += v
			} else {
				dxr[j] = v
			}
		}
	}
}

func (m *Model) backward(params, grads []float64) error {
	c := m.cfg
	T, d, V, H := c.Context, c.Width, c.Vocab, c.Heads
	n, seqs := m.rows, m.seqs
	clear(grads)
	// Cross-entropy: dlogits = (softmax − onehot)/n, in place of probs.
	dlogits := m.probs[:n*V]
	invN := 1 / float64(n)
	for r := range n {
		row := dlogits[r*V : r*V+V]
		row[m.target[r]] -= 1
		for j := range row {
			row[j] = float64(row[j] * invN)
		}
	}
	matmulATAdd(grads[m.off.head:], m.lnf.out, dlogits, n, d, V)
	dh := m.dh[:n*d]
	matmulBT(dh, dlogits, params[m.off.head:], m.wt, n, d, V)
	dx := m.dx[:n*d]
	m.lnf.backward(dh, params[m.off.normF:], grads[m.off.normF:], dx, n, d, false)

	for l := c.Layers - 1; l >= 0; l-- {
		if m.cut != nil && l+1 == m.cutAfter {
			if err := m.cut.Backward(dx, n, d); err != nil {
				return err
			}
		}
		o := m.off.layers[l]
		// MLP: x[l+1] = xm + gelu(ln2(xm)·in)·out.
		du := m.du[:n*4*d]
		matmulATAdd(grads[o.out:], m.gelu[l], dx, n, 4*d, d)
		matmulBT(du, dx, params[o.out:], m.wt, n, 4*d, d)
		for i, z := range m.u[l][:n*4*d] {
			t := m.tanh[l][i]
			z2 := float64(z * z)
			dt := float64(float64(geluC*(1+float64(3*0.044715*z2))) * (1 - float64(t*t)))
			du[i] = float64(du[i] * (float64(0.5*(1+t)) + float64(float64(0.5*z)*dt)))
		}
		matmulATAdd(grads[o.in:], m.ln2[l].out, du, n, d, 4*d)
		matmulBT(dh, du, params[o.in:], m.wt, n, d, 4*d)
		dxm := m.dxm[:n*d]
		copy(dxm, dx)
		m.ln2[l].backward(dh, params[o.norm2:], grads[o.norm2:], dxm, n, d, true)

		// Attention: xm = x[l] + attn(ln1(x[l]))·o.
		dy := m.dy[:n*d]
		matmulATAdd(grads[o.o:], m.y[l], dxm, n, d, d)
		matmulBT(dy, dxm, params[o.o:], m.wt, n, d, d)
		m.attentionBackward(l, seqs, T, d, H)
		h := m.ln1[l].out[:n*d]
		matmulATAdd(grads[o.q:], h, m.dq, n, d, d)
		matmulATAdd(grads[o.k:], h, m.dk, n, d, d)
		matmulATAdd(grads[o.v:], h, m.dv, n, d, d)
		// dh = dq·Wqᵀ + dk·Wkᵀ + dv·Wvᵀ, each product whole before it is
		// added; dy, spent, holds the second and third.
		matmulBT(dh, m.dq, params[o.q:], m.wt, n, d, d)
		for _, g := range [...]struct {
			grad []float64
			w    int
		}{{m.dk, o.k}, {m.dv, o.v}} {
			matmulBT(dy, g.grad, params[g.w:], m.wt, n, d, d)
			for i, v := range dy {
				dh[i] += v
			}
		}
		copy(dx, dxm)
		m.ln1[l].backward(dh, params[o.norm1:], grads[o.norm1:], dx, n, d, true)
	}
	// Embeddings.
	gtok, gpos := grads[m.off.tok:], grads[m.off.pos:]
	for r := range n {
		dr := dx[r*d : r*d+d]
		tr := int(m.inputs[r])
		axpy(gtok[tr*d:tr*d+d], 1, dr)
		axpy(gpos[(r%T)*d:(r%T)*d+d], 1, dr)
	}
	return nil
}

// attentionBackward turns dy (at block l's attention output) into dq, dk
// and dv.
func (m *Model) attentionBackward(l, seqs, T, d, H int) {
	n := seqs * T
	dh := d / H
	scale := 1 / math.Sqrt(float64(dh))
	q, k, v := m.q[l], m.k[l], m.v[l]
	dq, dk, dv, dy := m.dq[:n*d], m.dk[:n*d], m.dv[:n*d], m.dy[:n*d]
	// Each sum runs in increasing i (over queries) or j (over keys), the
	// order of the plain double loop, two output rows at a time (see
	// causalMix). att's probabilities give way to the scores' gradient as
	// soon as dv has used them.
	dp := m.ds[:T*T]
	for s := range seqs {
		for h := range H {
			att := m.att[l][(s*H+h)*T*T : (s*H+h+1)*T*T]
			col := s*T*d + h*dh
			// dv_j = Σ_{i≥j} p_ij dy_i.
			causalMixT(dv[col:], att, dy[col:], T, d, dh)
			// ds_ij = p_ij (dp_ij − Σ_j' p_ij' dp_ij') · scale, with
			// dp_ij = dy_i · v_j, in att's place.
			causalScores(dp, dy[col:], v[col:], m.bt, T, d, dh)
			for i := range T {
				p, dpi := att[i*T:i*T+i+1], dp[i*T:i*T+i+1]
				var sum float64
				for j := range p {
					sum += float64(p[j] * dpi[j])
				}
				for j := range p {
					p[j] = float64(float64(p[j]*(dpi[j]-sum)) * scale)
				}
			}
			// dq_i = Σ_{j≤i} ds_ij k_j; dk_j = Σ_{i≥j} ds_ij q_i.
			causalMix(dq[col:], att, k[col:], T, d, dh)
			causalMixT(dk[col:], att, q[col:], T, d, dh)
		}
	}
}
