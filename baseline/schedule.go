package baseline

import "math"

// Defaults of the warmup and decay of the schedules and of the
// tensor-aware optimizers' built-in schedule.
const (
	DefaultWarmup       = 0.05 // fraction of the run spent warming up linearly
	DefaultMinLRFrac    = 0.1  // WarmupCosine's floor, a fraction of the peak
	DefaultCooldownFrac = 0.2  // fraction of the run WSD spends cooling down
)

// warmupLR is the rate at step t < warm of a linear warmup to peak: it
// reaches peak at the last warmup step.
func warmupLR(peak float64, t, warm int) float64 {
	return float64(peak*float64(t+1)) / float64(warm)
}

// WarmupCosine is the schedule nanoGPT and most transformer recipes train
// with: a linear warmup over the first Warmup fraction of the run to Peak,
// then a half cosine from Peak down to a floor of MinFrac × Peak at the
// end of the run (Loshchilov and Hutter 2017, "SGDR", without restarts).
// Every tensor-aware optimizer in this package follows it, so they differ
// only in their update rule. The cosine is a rotation recurrence, not
// math.Cos, so native and wasm runs agree bit for bit.
//
// Call Init with the run's length, then LR for each step. With an unknown
// length (0) there is nothing to decay towards: the rate is Peak.
type WarmupCosine struct {
	Peak, Warmup, MinFrac float64

	warm, decay int     // warmup steps; decay steps (0: the run length is unknown)
	k           int     // the decay step the rotation stands at
	cos, sin    float64 // cos and sin of the angle π k / decay
	c1, s1      float64 // cos and sin of one step's angle, π / decay
}

// Init starts the schedule for a run of steps steps.
func (s *WarmupCosine) Init(steps int) {
	s.warm, s.decay = 0, 0
	s.k, s.cos, s.sin = 0, 1, 0
	if steps <= 0 {
		return
	}
	s.warm = int(float64(s.Warmup * float64(steps)))
	s.decay = max(1, steps-s.warm)
	s.c1, s.s1 = cosSin(math.Pi / float64(s.decay))
}

// LR is the rate at step t. It costs O(1) when called for successive steps;
// any other order replays the recurrence from the start of the decay, so
// the value at a step never depends on the order of the calls.
func (s *WarmupCosine) LR(t int) float64 {
	if t < s.warm {
		return warmupLR(s.Peak, t, s.warm)
	}
	if s.decay == 0 {
		return s.Peak
	}
	floor := float64(s.Peak * s.MinFrac)
	k := t - s.warm
	if k >= s.decay {
		return floor
	}
	if k < s.k {
		s.k, s.cos, s.sin = 0, 1, 0
	}
	for ; s.k < k; s.k++ {
		s.cos, s.sin = float64(s.cos*s.c1)-float64(s.sin*s.s1), float64(s.sin*s.c1)+float64(s.cos*s.s1)
	}
	// floor + (Peak - floor) (1 + cos) / 2
	return floor + float64(float64(float64(s.Peak-floor)*0.5)*(1+s.cos))
}

// WSD is warmup-stable-decay (Hu et al. 2024, MiniCPM; Hägele et al. 2024,
// "Scaling laws and compute-optimal training beyond fixed training
// durations"): a linear warmup over the first Warmup fraction of the run
// to Peak, Peak until the last CooldownFrac of the run, then a linear
// cooldown to zero. NewWSD gives the customary fractions.
type WSD struct {
	Peak, Warmup, CooldownFrac float64
}

// NewWSD returns WSD with a 5% warmup and a 20% cooldown.
func NewWSD(peak float64) *WSD {
	return &WSD{Peak: peak, Warmup: DefaultWarmup, CooldownFrac: DefaultCooldownFrac}
}

func (s *WSD) Init(int) {}

func (s *WSD) LR(t, total int, _ float64) float64 {
	warm := int(float64(s.Warmup * float64(total)))
	cool := int(float64(s.CooldownFrac * float64(total)))
	switch {
	case t < warm:
		return warmupLR(s.Peak, t, warm)
	case t < total-cool:
		return s.Peak
	case t >= total:
		return 0
	}
	// Peak at the cooldown's first step, Peak/cool at the run's last.
	return float64(s.Peak*float64(total-t)) / float64(cool)
}

// LinearDecay warms up linearly over the first Warmup fraction of the run
// to Peak, then decays linearly to zero at the end of the run: the
// schedule Defazio et al. 2023 ("When, why and how much? Adaptive learning
// rate scheduling by refinement") find matches or beats cosine.
type LinearDecay struct {
	Peak, Warmup float64
}

// NewLinearDecay returns LinearDecay with a 5% warmup.
func NewLinearDecay(peak float64) *LinearDecay {
	return &LinearDecay{Peak: peak, Warmup: DefaultWarmup}
}

func (s *LinearDecay) Init(int) {}

func (s *LinearDecay) LR(t, total int, _ float64) float64 {
	warm := int(float64(s.Warmup * float64(total)))
	switch {
	case t < warm:
		return warmupLR(s.Peak, t, warm)
	case t >= total:
		return 0
	}
	// Peak at the decay's first step, Peak/(total-warm) at the run's last.
	return float64(s.Peak*float64(total-t)) / float64(total-warm)
}
