// Command goref runs an optimizer module through package strategy on
// inputs read as JSON from stdin and writes the parameters it ends with:
// the Go side of the Python tests' check that libarena gives the same
// bits as package strategy. Both sides run in the same test, on the same
// float64 inputs, so the comparison is never against a stale file.
//
// Input: {"wasm": path, "limits": {...} or null, "n": n, "table": [...] or
// null, "steps": steps, "params": [bits], "a": [bits], "b": [bits],
// "loss": [one float per step]}, every float64 given as the integer of
// its IEEE bits. Step t's gradient is float64(p·a) - b elementwise, from
// the parameters as they stand. Output: {"params": [bits], "fuel": fuel,
// "tensors": bool, "log": string}.
//
// With "cut": {"size", "dtype", "rows", "cols", "steps": [{"forward":
// bytes, "backward": bytes}]} instead of the optimizer's fields, it runs
// an activation codec as the benchmark holds a pipeline cut, two
// strategy.ActivationStage (the first made first): each step's forward
// tensor is encoded by the first stage and decoded by the second, then
// its backward tensor encoded by the second and decoded by the first.
// Bytes are base64, as encoding/json writes them. Output: {"cut":
// {"steps": [{"forward_msg", "forward", "backward_msg", "backward"}],
// "fuel": [first, second]}}, each tensor as the receiving stage decoded it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
	"github.com/arena-dev/arena/strategy"
)

type input struct {
	Wasm   string          `json:"wasm"`
	Limits json.RawMessage `json:"limits"`
	N      int             `json:"n"`
	Table  []arena.Tensor  `json:"table"`
	Steps  int             `json:"steps"`
	Params []uint64        `json:"params"`
	A      []uint64        `json:"a"`
	B      []uint64        `json:"b"`
	Loss   []float64       `json:"loss"`
	Cut    *cutInput       `json:"cut"`
}

type output struct {
	Params  []uint64 `json:"params"`
	Fuel    int64    `json:"fuel"`
	Tensors bool     `json:"tensors"`
	Log     string   `json:"log"`
}

type cutInput struct {
	Size  int `json:"size"`
	DType int `json:"dtype"`
	Rows  int `json:"rows"`
	Cols  int `json:"cols"`
	Steps []struct {
		Forward  []byte `json:"forward"`
		Backward []byte `json:"backward"`
	} `json:"steps"`
}

type cutStep struct {
	ForwardMsg  []byte `json:"forward_msg"`
	Forward     []byte `json:"forward"`
	BackwardMsg []byte `json:"backward_msg"`
	Backward    []byte `json:"backward"`
}

type cutOutput struct {
	Steps []cutStep `json:"steps"`
	Fuel  [2]int64  `json:"fuel"`
}

// runCut sends every step's tensors across a cut of two stages, as
// scoring's newStages and stages.send do.
func runCut(ctx context.Context, eng *sandbox.Engine, wasm []byte, lim arena.Limits, in *cutInput) (*cutOutput, error) {
	first, err := strategy.NewActivationStage(ctx, eng, wasm, in.Size, true, lim)
	if err != nil {
		return nil, err
	}
	defer first.Close(ctx)
	second, err := strategy.NewActivationStage(ctx, eng, wasm, in.Size, false, lim)
	if err != nil {
		return nil, err
	}
	defer second.Close(ctx)
	// send copies what the stages return, which is valid until their next call.
	send := func(from, to *strategy.ActivationStage, direction int, raw []byte) (msg, got []byte, err error) {
		if msg, err = from.Encode(direction, in.DType, in.Rows, in.Cols, raw); err != nil {
			return nil, nil, err
		}
		msg = append([]byte(nil), msg...)
		if got, err = to.Decode(direction, in.DType, in.Rows, in.Cols, msg, len(raw)); err != nil {
			return nil, nil, err
		}
		return msg, append([]byte(nil), got...), nil
	}
	out := &cutOutput{}
	for t, step := range in.Steps {
		var s cutStep
		if s.ForwardMsg, s.Forward, err = send(first, second, scoring.Forward, step.Forward); err != nil {
			return nil, fmt.Errorf("step %d forward: %w", t, err)
		}
		if s.BackwardMsg, s.Backward, err = send(second, first, scoring.Backward, step.Backward); err != nil {
			return nil, fmt.Errorf("step %d backward: %w", t, err)
		}
		out.Steps = append(out.Steps, s)
	}
	out.Fuel = [2]int64{first.FuelUsed(), second.FuelUsed()}
	return out, nil
}

func floats(bits []uint64) []float64 {
	v := make([]float64, len(bits))
	for i, b := range bits {
		v[i] = math.Float64frombits(b)
	}
	return v
}

func run() error {
	var in input
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("input: %w", err)
	}
	wasm, err := os.ReadFile(in.Wasm)
	if err != nil {
		return err
	}
	lim := arena.DefaultLimits()
	if len(in.Limits) > 0 && string(in.Limits) != "null" {
		if err := json.Unmarshal(in.Limits, &lim); err != nil {
			return fmt.Errorf("limits: %w", err)
		}
	}
	ctx := context.Background()
	eng := sandbox.NewEngine(1)
	defer eng.Close(ctx)
	if in.Cut != nil {
		cut, err := runCut(ctx, eng, wasm, lim, in.Cut)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(struct {
			Cut *cutOutput `json:"cut"`
		}{cut})
	}
	var opt *strategy.Optimizer
	if in.Table != nil {
		opt, err = strategy.NewTensorOptimizer(ctx, eng, wasm, in.Table, in.Steps, lim)
	} else {
		opt, err = strategy.NewOptimizer(ctx, eng, wasm, in.N, lim)
	}
	if err != nil {
		return err
	}
	defer opt.Close(ctx)
	params, a, b := floats(in.Params), floats(in.A), floats(in.B)
	if len(a) != len(params) || len(b) != len(params) {
		return fmt.Errorf("%d parameters, %d a and %d b", len(params), len(a), len(b))
	}
	grads := make([]float64, len(params))
	for t, loss := range in.Loss {
		for i, p := range params {
			grads[i] = float64(p*a[i]) - b[i] // no fused multiply-add
		}
		if err := opt.Step(t, params, grads, loss); err != nil {
			return err
		}
	}
	out := output{Params: make([]uint64, len(params)), Fuel: opt.FuelUsed(), Tensors: opt.Tensors(), Log: opt.Log()}
	for i, p := range params {
		out.Params[i] = math.Float64bits(p)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "goref:", err)
		os.Exit(1)
	}
}
