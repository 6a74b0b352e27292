package scoring

import (
	"fmt"
	"github.com/arena-dev/arena/detmath"
	"math"
)

// A workload is a deterministic training problem: the host owns its data,
// model and loss, and exposes only parameters and gradients.
type workload interface {
	dim() int
	// init writes the initial parameters.
	init(params []float64)
	// grad writes the minibatch gradient for step t into grads and returns
	// the minibatch loss. Its sampling depends only on the seed and t.
	grad(t int, params, grads []float64) float64
	// heldOut is the loss on data the optimizer never sees.
	heldOut(params []float64) float64
}

// workloadConfig is what workloads read from the benchmark parameters.
type workloadConfig struct {
	Dim       int
	Condition float64
	Noise     float64
	Batch     int
}

var workloadNames = []string{"quadratic", "logistic", "mlp", "rosenbrock"}

func newWorkload(name string, seed uint64, c workloadConfig) (workload, error) {
	switch name {
	case "quadratic":
		return newQuadratic(seed, c), nil
	case "logistic":
		return newLogistic(seed, c), nil
	case "mlp":
		return newMLP(seed, c), nil
	case "rosenbrock":
		return newRosenbrock(seed, c), nil
	}
	return nil, fmt.Errorf("unknown workload %q", name)
}

// quadratic is f(x) = ½ Σ λ_i (q_i·x)², with eigenvalues log-spaced from 1
// down to 1/condition and a random rotation Q, so no coordinate-wise trick
// removes the ill-conditioning. Gradients carry Gaussian noise.
type quadratic struct {
	n      int
	q      [][]float64 // rows are orthonormal eigenvectors
	lambda []float64
	noise  float64
	x0     []float64
	noiseR *detmath.RNG
	proj   []float64 // scratch: Q x
}

func newQuadratic(seed uint64, c workloadConfig) *quadratic {
	n := c.Dim
	r := detmath.NewRNG(seed, "quadratic/data")
	q := make([][]float64, n)
	for i := range q {
		// Gram–Schmidt on Gaussian rows gives a uniformly random rotation.
		for {
			v := make([]float64, n)
			for j := range v {
				v[j] = r.Normal()
			}
			for _, u := range q[:i] {
				d := detmath.Dot(v, u)
				for j := range v {
					v[j] -= float64(d * u[j])
				}
			}
			norm := math.Sqrt(detmath.Dot(v, v))
			if norm < 1e-6 {
				continue
			}
			for j := range v {
				v[j] /= norm
			}
			q[i] = v
			break
		}
	}
	lambda := make([]float64, n)
	for i := range lambda {
		frac := 0.0
		if n > 1 {
			frac = float64(i) / float64(n-1)
		}
		lambda[i] = detmath.Exp(-float64(frac * detmath.Log(c.Condition)))
	}
	x0 := make([]float64, n)
	for i := range x0 {
		x0[i] = r.Normal()
	}
	return &quadratic{n: n, q: q, lambda: lambda, noise: c.Noise, x0: x0,
		noiseR: detmath.NewRNG(seed, "quadratic/noise"), proj: make([]float64, n)}
}

func (w *quadratic) dim() int              { return w.n }
func (w *quadratic) init(params []float64) { copy(params, w.x0) }

func (w *quadratic) loss(x []float64) float64 {
	var f float64
	for i, row := range w.q {
		p := detmath.Dot(row, x)
		w.proj[i] = p
		f += float64(float64(w.lambda[i]*p) * p)
	}
	return 0.5 * f
}

func (w *quadratic) grad(_ int, x, g []float64) float64 {
	f := w.loss(x)
	for j := range g {
		g[j] = float64(w.noise * w.noiseR.Normal())
	}
	for i, row := range w.q {
		c := float64(w.lambda[i] * w.proj[i])
		for j := range g {
			g[j] += float64(c * row[j])
		}
	}
	return f
}

func (w *quadratic) heldOut(x []float64) float64 { return w.loss(x) }

// sharded is a workload whose training data can be split between
// data-parallel workers: after setShard(k, n), grad draws only from the
// k-th of n disjoint shards. Workloads without data ignore it.
type sharded interface {
	setShard(k, n int)
}

// dataset is a design matrix with targets, split into train and test.
type dataset struct {
	trainX, testX [][]float64
	trainY, testY []float64
	shard, shards int // minibatches come from examples shard, shard+shards, ...
}

func (d *dataset) setShard(k, n int) { d.shard, d.shards = k, n }

// minibatch draws batch training examples of the current shard with r,
// lets example add each one's gradient into g and return its loss, and
// averages both.
func (d *dataset) minibatch(r *detmath.RNG, batch int, g []float64, example func(x []float64, y float64) float64) float64 {
	clear(g)
	var loss float64
	stride := max(1, d.shards)
	size := (len(d.trainX) - d.shard + stride - 1) / stride
	for range batch {
		i := d.shard + stride*r.Intn(size)
		loss += example(d.trainX[i], d.trainY[i])
	}
	inv := 1 / float64(batch)
	for j := range g {
		g[j] = float64(g[j] * inv)
	}
	return float64(loss * inv)
}

// testLoss is the mean of loss over the held-out examples.
func (d *dataset) testLoss(loss func(x []float64, y float64) float64) float64 {
	var sum float64
	for i, x := range d.testX {
		sum += loss(x, d.testY[i])
	}
	return sum / float64(len(d.testX))
}

// logistic is binary logistic regression (with a bias) on Gaussian features
// whose labels are drawn from a hidden linear model, so the best loss is
// well above zero and overfitting the training set hurts.
type logistic struct {
	d     int
	data  dataset
	batch int
	r     *detmath.RNG
}

const (
	logisticFeatures = 16
	logisticTrain    = 1024
	logisticTest     = 1024
)

func newLogistic(seed uint64, c workloadConfig) *logistic {
	d := logisticFeatures
	r := detmath.NewRNG(seed, "logistic/data")
	w := make([]float64, d)
	for i := range w {
		w[i] = float64(r.Normal() * 2 / math.Sqrt(float64(d)))
	}
	sample := func(count int) ([][]float64, []float64) {
		xs := make([][]float64, count)
		ys := make([]float64, count)
		for i := range xs {
			x := make([]float64, d)
			for j := range x {
				x[j] = r.Normal()
			}
			xs[i] = x
			if r.Float64() < detmath.Sigmoid(detmath.Dot(w, x)+0.5) {
				ys[i] = 1
			}
		}
		return xs, ys
	}
	var ds dataset
	ds.trainX, ds.trainY = sample(logisticTrain)
	ds.testX, ds.testY = sample(logisticTest)
	return &logistic{d: d, data: ds, batch: c.Batch, r: detmath.NewRNG(seed, "logistic/batches")}
}

func (w *logistic) dim() int { return w.d + 1 }

func (w *logistic) setShard(k, n int) { w.data.setShard(k, n) }

func (w *logistic) init(params []float64) { clear(params) }

func (w *logistic) example(params, x []float64, y float64) (loss, residual float64) {
	z := detmath.Dot(params[:w.d], x) + params[w.d]
	return detmath.Softplus(z) - float64(y*z), detmath.Sigmoid(z) - y
}

func (w *logistic) grad(_ int, params, g []float64) float64 {
	return w.data.minibatch(w.r, w.batch, g, func(x []float64, y float64) float64 {
		l, res := w.example(params, x, y)
		for j := range x {
			g[j] += float64(res * x[j])
		}
		g[w.d] += res
		return l
	})
}

func (w *logistic) heldOut(params []float64) float64 {
	return w.data.testLoss(func(x []float64, y float64) float64 {
		l, _ := w.example(params, x, y)
		return l
	})
}

// mlp is a two-layer tanh network (2 inputs, 16 hidden units, 1 output)
// regressing a random teacher network plus noise, under mean squared error.
type mlp struct {
	data  dataset
	batch int
	r     *detmath.RNG
	init0 []float64
	h     [mlpHidden]float64 // scratch activations
}

const (
	mlpInputs  = 2
	mlpHidden  = 16
	mlpTeacher = 8
	mlpTrain   = 1024
	mlpTest    = 512
	// Parameter layout: W1 (hidden×inputs, row-major), b1, w2, b2.
	mlpParams = mlpHidden*mlpInputs + mlpHidden + mlpHidden + 1
)

func newMLP(seed uint64, c workloadConfig) *mlp {
	r := detmath.NewRNG(seed, "mlp/data")
	var tw1 [mlpTeacher][mlpInputs]float64
	var tb1, tw2 [mlpTeacher]float64
	for i := range tw1 {
		for j := range tw1[i] {
			tw1[i][j] = float64(1.5 * r.Normal())
		}
		tb1[i] = r.Normal()
		tw2[i] = r.Normal() / math.Sqrt(mlpTeacher)
	}
	teacher := func(x []float64) float64 {
		var y float64
		for i := range tw1 {
			y += float64(tw2[i] * detmath.Tanh(float64(tw1[i][0]*x[0])+float64(tw1[i][1]*x[1])+tb1[i]))
		}
		return y
	}
	sample := func(count int) ([][]float64, []float64) {
		xs := make([][]float64, count)
		ys := make([]float64, count)
		for i := range xs {
			x := []float64{r.Uniform(-2, 2), r.Uniform(-2, 2)}
			xs[i] = x
			ys[i] = teacher(x) + float64(0.05*r.Normal())
		}
		return xs, ys
	}
	var ds dataset
	ds.trainX, ds.trainY = sample(mlpTrain)
	ds.testX, ds.testY = sample(mlpTest)

	p := make([]float64, mlpParams)
	for i := 0; i < mlpHidden*mlpInputs; i++ {
		p[i] = r.Normal() / math.Sqrt(mlpInputs)
	}
	for i := 0; i < mlpHidden; i++ {
		p[mlpHidden*mlpInputs+mlpHidden+i] = r.Normal() / math.Sqrt(mlpHidden)
	}
	return &mlp{data: ds, batch: c.Batch, r: detmath.NewRNG(seed, "mlp/batches"), init0: p}
}

func (w *mlp) dim() int              { return mlpParams }
func (w *mlp) setShard(k, n int)     { w.data.setShard(k, n) }
func (w *mlp) init(params []float64) { copy(params, w.init0) }

// forward returns the prediction, leaving hidden activations in w.h.
func (w *mlp) forward(p, x []float64) float64 {
	w1, b1 := p[:mlpHidden*mlpInputs], p[mlpHidden*mlpInputs:mlpHidden*mlpInputs+mlpHidden]
	w2, b2 := p[mlpHidden*mlpInputs+mlpHidden:mlpParams-1], p[mlpParams-1]
	y := b2
	for i := range mlpHidden {
		a := b1[i]
		for j := range mlpInputs {
			a += float64(w1[i*mlpInputs+j] * x[j])
		}
		w.h[i] = detmath.Tanh(a)
		y += float64(w2[i] * w.h[i])
	}
	return y
}

func (w *mlp) grad(_ int, p, g []float64) float64 {
	gw1, gb1 := g[:mlpHidden*mlpInputs], g[mlpHidden*mlpInputs:mlpHidden*mlpInputs+mlpHidden]
	gw2 := g[mlpHidden*mlpInputs+mlpHidden : mlpParams-1]
	w2 := p[mlpHidden*mlpInputs+mlpHidden : mlpParams-1]
	return w.data.minibatch(w.r, w.batch, g, func(x []float64, y float64) float64 {
		e := w.forward(p, x) - y
		de := 2 * e
		g[mlpParams-1] += de
		for i := range mlpHidden {
			gw2[i] += float64(de * w.h[i])
			dh := float64(float64(de*w2[i]) * (1 - float64(w.h[i]*w.h[i])))
			gb1[i] += dh
			for j := range mlpInputs {
				gw1[i*mlpInputs+j] += float64(dh * x[j])
			}
		}
		return float64(e * e)
	})
}

func (w *mlp) heldOut(p []float64) float64 {
	return w.data.testLoss(func(x []float64, y float64) float64 {
		e := w.forward(p, x) - y
		return float64(e * e)
	})
}

// rosenbrock is a sum of independent Rosenbrock-style valleys,
// f = 0.1 Σ [5 (v - u²)² + (1 - u)²] over 8 (u, v) pairs: a curved, narrow
// valley whose floor leads slowly to the minimum 0 at all ones. Starts near
// the classic (-1.2, 1); gradients carry Gaussian noise.
type rosenbrock struct {
	x0     []float64
	noise  float64
	noiseR *detmath.RNG
}

const (
	rosenPairs = 8
	rosenA     = 5.0
	rosenScale = 0.1
)

func newRosenbrock(seed uint64, c workloadConfig) *rosenbrock {
	r := detmath.NewRNG(seed, "rosenbrock/data")
	x0 := make([]float64, 2*rosenPairs)
	for i := 0; i < rosenPairs; i++ {
		x0[2*i] = -1.2 + float64(0.2*r.Normal())
		x0[2*i+1] = 1 + float64(0.2*r.Normal())
	}
	return &rosenbrock{x0: x0, noise: c.Noise, noiseR: detmath.NewRNG(seed, "rosenbrock/noise")}
}

func (w *rosenbrock) dim() int              { return 2 * rosenPairs }
func (w *rosenbrock) init(params []float64) { copy(params, w.x0) }

func (w *rosenbrock) heldOut(x []float64) float64 {
	var f float64
	for i := 0; i < rosenPairs; i++ {
		u, v := x[2*i], x[2*i+1]
		d, e := v-float64(u*u), 1-u
		f += float64(rosenA*float64(d*d)) + float64(e*e)
	}
	return float64(rosenScale * f)
}

func (w *rosenbrock) grad(_ int, x, g []float64) float64 {
	for i := 0; i < rosenPairs; i++ {
		u, v := x[2*i], x[2*i+1]
		d := v - float64(u*u)
		// df/du = -4a u d - 2(1-u), df/dv = 2a d, both scaled.
		g[2*i] = float64(rosenScale*(float64(float64(-4*rosenA*u)*d)-float64(2*(1-u)))) + float64(w.noise*w.noiseR.Normal())
		g[2*i+1] = float64(rosenScale*float64(2*rosenA*d)) + float64(w.noise*w.noiseR.Normal())
	}
	return w.heldOut(x)
}
