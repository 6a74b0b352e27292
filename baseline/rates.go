package baseline

// Learning rates of the reference strategies on the language model, as
// examples/optimizer/<name> and examples/lr_schedule/<name> ship them: for
// an optimizer, the peak of its warmup-cosine schedule; for a schedule,
// the peak rate of the host's AdamW. Each was chosen on the grid that
// internal/validity/tune.go lists, on the public seeds of the default
// workload (`go run ./internal/validity -tune all`, docs/tuning.md). They
// live here rather than in tensoropt so that a host can name them without
// linking the optimizer SDK.
const (
	AdamWLR    = 0.05 // examples/optimizer/adamw, the optimizer benchmark's baseline on the language model
	SGDLR      = 0.3  // examples/optimizer/sgd
	MomentumLR = 0.1  // examples/optimizer/momentum
	AdagradLR  = 0.3  // examples/optimizer/adagrad (the grid's top; larger rates were not tried)
	SignumLR   = 0.02 // examples/optimizer/signum
	LionLR     = 0.01 // examples/optimizer/lion
	MuonLR     = 0.05 // examples/optimizer/muon, its hidden matrices
	MuonAdamLR = 0.01 // examples/optimizer/muon, the AdamW on every other tensor (tuned with MuonLR)
)

// GradOuterLR is the peak rate of grad_compression's outer AdamW on the
// language model: the best mean final loss of its dense (uncompressed)
// data-parallel run on seeds 1–4 over [0.007 0.01 0.015 0.02 0.03]
// (docs/tuning.md). AdamWLR, tuned on the optimizer kind's width-16
// model, is too high for this width-32 one: there it let the Templar
// baseline, which shrinks the update, end below the dense run.
const GradOuterLR = 0.015

// LMConstantLR is the lr_schedule benchmark's built-in baseline on the
// language model: the host's AdamW at this one rate throughout, the best
// constant on the grid (examples/lr_schedule/constant).
const LMConstantLR = 0.01

// Peaks of the decaying schedule examples, the host AdamW's highest rate.
const (
	CosinePeak      = 0.05 // examples/lr_schedule/cosine
	WSDPeak         = 0.03 // examples/lr_schedule/wsd
	LinearDecayPeak = 0.03 // examples/lr_schedule/linear
	StepDecayPeak   = 0.05 // examples/lr_schedule/stepdecay (not tuned: the cosine's peak)
	// CosineNoWarmupPeak is three times CosinePeak: the cosine without
	// warmup at a high rate, the control that shows what warmup is worth.
	CosineNoWarmupPeak = 3 * CosinePeak
)

// Decoupled weight decay coefficients of the tensor-aware optimizers. The
// sign-based methods take steps about ten times smaller than AdamW's, so
// their coefficient is about ten times larger, keeping LR × WD, the
// per-step shrink, alike (Chen et al. 2023, section 3).
const (
	AdamWWD = 0.1
	SignWD  = 1.0 // Signum and Lion
)
