package baseline

// Learning rates of the tensor-aware reference optimizers in
// baseline/tensoropt, the peak of each one's warmup-cosine schedule, as
// examples/optimizer/<name> ship them. Tuned on the grid {LR/10, LR/3, LR,
// 3·LR, 10·LR} on the public seeds; see docs/validity.md. (Until that
// tuning is recorded there, they are starting values from the literature
// for a small transformer.) They live here rather than in tensoropt so
// that a host can name them without linking the optimizer SDK.
const (
	AdamWLR    = 3e-3 // examples/optimizer/adamw, the optimizer benchmark's baseline on the language model
	SGDLR      = 0.3  // examples/optimizer/sgd
	MomentumLR = 0.05 // examples/optimizer/momentum
	AdagradLR  = 0.03 // examples/optimizer/adagrad
	SignumLR   = 3e-4 // examples/optimizer/signum
	LionLR     = 3e-4 // examples/optimizer/lion
	MuonLR     = 0.02 // examples/optimizer/muon, its hidden matrices
	MuonAdamLR = 3e-3 // examples/optimizer/muon, the AdamW on every other tensor
)

// LMConstantLR is the lr_schedule benchmark's built-in baseline on the
// language model: the host's AdamW at this one rate throughout, the peak
// AdamWLR of the optimizer benchmark's baseline. Tuned with AdamWLR; see
// docs/validity.md.
const LMConstantLR = AdamWLR

// Decoupled weight decay coefficients of the tensor-aware optimizers. The
// sign-based methods take steps about ten times smaller than AdamW's, so
// their coefficient is about ten times larger, keeping LR × WD, the
// per-step shrink, alike (Chen et al. 2023, section 3).
const (
	AdamWWD = 0.1
	SignWD  = 1.0 // Signum and Lion
)
