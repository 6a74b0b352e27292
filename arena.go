// Package arena holds Arena's domain types and its error type. Subpackages
// are named after what they wrap: store (Postgres), queue (NATS JetStream),
// sandbox (wazero), meter (fuel metering), scoring (benchmark kinds), api
// (HTTP), web (pages), metrics (Prometheus), receipt (signatures), and
// strategy (a module in a trainer's loop).
package arena

import (
	"encoding/json"
	"time"
)

// Role is what an API key may do.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleCompetitor Role = "competitor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleCompetitor }

// Status is where a submission is in its life.
type Status string

const (
	StatusQueued   Status = "queued"
	StatusRunning  Status = "running"
	StatusScored   Status = "scored"
	StatusFailed   Status = "failed"   // the module ran and broke every task
	StatusRejected Status = "rejected" // the module never ran: it failed validation
	// StatusDisqualified: an admin took the submission out of the
	// tournament (its reason says why); it keeps its record.
	StatusDisqualified Status = "disqualified"
)

// Final reports whether no more work will happen on a submission.
func (s Status) Final() bool {
	return s == StatusScored || s == StatusFailed || s == StatusRejected || s == StatusDisqualified
}

// Competitor is a registered participant.
type Competitor struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey describes an issued key; the key itself is shown once, at issue,
// and stored only as a hash.
type APIKey struct {
	ID        int64      `json:"id"`
	Role      Role       `json:"role"`
	Name      string     `json:"name"` // the competitor, or an admin key's label
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Principal is the authenticated caller of a request.
type Principal struct {
	KeyID        int64
	Role         Role
	CompetitorID int64 // zero for admins
	Name         string
}

// Challenge is one tournament: a benchmark kind with its parameters, limits
// and rules. Params, Limits and Rules are stored normalized (defaults filled).
type Challenge struct {
	ID               int64           `json:"-"`
	Slug             string          `json:"slug"`
	Title            string          `json:"title"`
	Description      string          `json:"description"`
	Kind             string          `json:"kind"`
	BenchmarkVersion int             `json:"benchmark_version"`
	Params           json.RawMessage `json:"params"`
	Limits           Limits          `json:"limits"`
	Rules            Rules           `json:"rules"`
	// Round numbers the challenge's rounds from 1; each round has its own
	// hidden seeds.
	Round     int       `json:"round"`
	CreatedAt time.Time `json:"created_at"`
}

// ChallengeSpec is a challenge definition as an admin writes it: params,
// limits and rules may be partial or omitted, and take defaults.
type ChallengeSpec struct {
	Slug        string          `json:"slug"`
	Title       string          `json:"title,omitempty"`
	Description string          `json:"description,omitempty"`
	Kind        string          `json:"kind"`
	Params      json.RawMessage `json:"params,omitempty"`
	Limits      json.RawMessage `json:"limits,omitempty"`
	Rules       json.RawMessage `json:"rules,omitempty"`
}

// Limits bound what a module may use while it is evaluated.
type Limits struct {
	MaxModuleBytes int    `json:"max_module_bytes"`
	MemoryPages    uint32 `json:"memory_pages"`    // 64 KiB each
	FuelPerTask    int64  `json:"fuel_per_task"`   // the deterministic bound on each task's work
	TaskTimeoutMS  int    `json:"task_timeout_ms"` // wall-clock safety net per task, behind fuel
	MaxLogBytes    int    `json:"max_log_bytes"`   // captured stdout+stderr per task
}

// Rules are the tournament rules of a challenge.
type Rules struct {
	// Margin is how much a submission's score must exceed the better of the
	// baseline (score 0) and the champion to take the crown. Scores are log
	// loss ratios, so 0.01 means about 1% lower loss.
	Margin float64 `json:"margin"`
	// HiddenSeeds is how many seeds of each round are kept secret. The
	// official score is computed on them, over the same workloads as the
	// public seeds; with none, it is the public-seed score.
	HiddenSeeds int `json:"hidden_seeds"`
	// DailySubmissions caps how many submissions one competitor may make
	// to the challenge in any 24 hours, so no one can crowd the workers
	// out; 0 means no cap. Modules refused at upload are never stored and
	// do not count.
	DailySubmissions int `json:"daily_submissions"`
	// RevealAfter is when every submission's module becomes public, so
	// anyone can study and rerun the competition's code. Until then a
	// module is its owner's (and the admins'), except the champion's,
	// which trainers download; never when unset.
	RevealAfter *time.Time `json:"reveal_after,omitempty"`
	// OpensAt and ClosesAt bound when submissions are taken (either may
	// be unset: no bound).
	OpensAt  *time.Time `json:"opens_at,omitempty"`
	ClosesAt *time.Time `json:"closes_at,omitempty"`
	// RoundHours opens a new round (revealing the last one's seeds and
	// scoring the champion again) every so many hours while the challenge
	// is open; 0 leaves rounds to the admins.
	RoundHours int `json:"round_hours,omitempty"`
}

// Accepting says whether a challenge takes submissions at t, and if not,
// why, in words for the competitor.
func (r Rules) Accepting(t time.Time) error {
	switch {
	case r.OpensAt != nil && t.Before(*r.OpensAt):
		return Errorf(EFORBIDDEN, "this challenge opens for submissions at %s", r.OpensAt.UTC().Format(time.RFC3339))
	case r.ClosesAt != nil && !t.Before(*r.ClosesAt):
		return Errorf(EFORBIDDEN, "this challenge closed for submissions at %s", r.ClosesAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// DefaultFuelPerTask is about twice what the heaviest shipped example,
// Muon, spends on a default optimizer task (300 steps of the transformer
// LM, Newton–Schulz on every hidden matrix each step: 14 billion), Go
// runtime start-up included; docs/validity.md lists every example's fuel
// per step.
const DefaultFuelPerTask = 30_000_000_000

// MaxFuelPerTask caps budgets. Guest machine code has no points where Go
// can preempt it; guests yield to Go only in loops that make calls (see
// package meter), so a loop without calls makes a garbage collection wait
// for it. Such loops run at 10^9 fuel a second or more, so a hostile
// module that spends a whole default budget in one such loop holds a
// collection up for tens of seconds at worst (the README says so).
const MaxFuelPerTask = 1e11

// MaxModuleBytes caps every challenge's max_module_bytes.
const MaxModuleBytes = 64 << 20

// DefaultLimits are the limits a challenge gets when it names none.
func DefaultLimits() Limits {
	return Limits{
		MaxModuleBytes: 8 << 20,
		MemoryPages:    1024, // 64 MiB: a Go reactor needs a few MiB
		FuelPerTask:    DefaultFuelPerTask,
		TaskTimeoutMS:  180_000, // behind fuel: Muon's default task takes about 10 s
		MaxLogBytes:    16 << 10,
	}
}

// DefaultRules are the rules a challenge gets when it names none.
func DefaultRules() Rules { return Rules{Margin: 0.01, HiddenSeeds: 3, DailySubmissions: 20} }

// Submission is one module submitted to one challenge.
type Submission struct {
	ID           string   `json:"id"`
	ChallengeID  int64    `json:"-"`
	Challenge    string   `json:"challenge"`
	CompetitorID int64    `json:"-"`
	Competitor   string   `json:"competitor"`
	SHA256       string   `json:"sha256"`
	Size         int      `json:"size"`
	Status       Status   `json:"status"`
	Score        *float64 `json:"score"`        // official: on the round's hidden seeds
	PublicScore  *float64 `json:"public_score"` // on the public seeds, as arena eval computes it
	Round        int      `json:"round,omitempty"`
	Error        string   `json:"error"`
	FuelUsed     *int64   `json:"fuel_used"`
	FailedTasks  int      `json:"failed_tasks"`
	Attempts     int      `json:"attempts"`
	TimedOut     bool     `json:"timed_out,omitempty"`    // cut short by the wall-clock safety net; not charged to the daily cap
	HostFailure  bool     `json:"host_failure,omitempty"` // the host could not evaluate it; not charged either
	// DisqualifiedReason says why an admin disqualified the submission.
	DisqualifiedReason string       `json:"disqualified_reason,omitempty"`
	CreatedAt          time.Time    `json:"created_at"`
	FinishedAt         *time.Time   `json:"finished_at"`
	Tasks              []TaskResult `json:"tasks,omitempty"`
	// QueuedAt is when the submission last joined the queue: when it was
	// submitted, or its latest requeue. Requeues counts those, and
	// RequeueReason says why the latest happened.
	QueuedAt      time.Time `json:"queued_at"`
	Requeues      int       `json:"requeues"`
	RequeueReason string    `json:"requeue_reason,omitempty"`
	// Progress is how far a running evaluation has got.
	Progress *Progress `json:"progress,omitempty"`
	// Queue is where a queued submission stands.
	Queue *QueuePlace `json:"queue,omitempty"`
}

// Progress counts a running evaluation's finished tasks.
type Progress struct {
	TasksDone int `json:"tasks_done"`
	Tasks     int `json:"tasks"`
	// Score is the mean score of the tasks done so far (nil before the
	// first): the official score averages the hidden tasks only, so the
	// two can differ.
	Score *float64 `json:"score"`
}

// QueuePlace is where a queued submission stands and when it may start.
// Positions count queued submissions in the order they joined the queue,
// so a submission's position never grows until it is requeued itself.
type QueuePlace struct {
	Position int `json:"position"` // 1: the next to start
	Running  int `json:"running"`  // evaluations under way
	Workers  int `json:"workers"`  // evaluations the estimate assumes run at once
	// EvaluationSeconds is the median duration of recent evaluations;
	// nil when none has finished yet, and then there is no estimate.
	EvaluationSeconds *float64   `json:"evaluation_seconds"`
	EstimatedStart    *time.Time `json:"estimated_start"`
}

// Crowning is one change of a challenge's champion.
type Crowning struct {
	SubmissionID string    `json:"submission_id"`
	Competitor   string    `json:"competitor"`
	Score        float64   `json:"score"` // its official score when it took the crown
	CrownedAt    time.Time `json:"crowned_at"`
	// Disqualified crownings no longer count: the crown went back.
	Disqualified bool `json:"disqualified"`
}

// TaskResult is the outcome of one (workload, seed) task of an evaluation.
type TaskResult struct {
	Workload string `json:"workload"`
	Seed     uint64 `json:"seed"` // 0 on a hidden task, for all but admins
	// Hidden marks a task on a hidden seed: it counts toward the official
	// score, and only admins see its seed and log.
	Hidden       bool     `json:"hidden,omitempty"`
	Loss         *float64 `json:"loss"` // nil when the task failed or the loss was not finite
	BaselineLoss float64  `json:"baseline_loss"`
	Score        float64  `json:"score"`
	FuelUsed     *int64   `json:"fuel_used"`
	Error        string   `json:"error,omitempty"`
	Log          string   `json:"log,omitempty"`
	// Training is what a time-to-target task measured (the language-model
	// workloads); nil for the control workloads, scored by final loss.
	Training *Training `json:"training,omitempty"`
}

// Training is a time-to-target task's measurements: the held-out curves
// of the submission and the baseline, and the steps each took to reach
// the target, which is the baseline's final held-out loss.
type Training struct {
	Steps                 int     `json:"steps"` // the run's length
	Target                float64 `json:"target"`
	BaselineStepsToTarget float64 `json:"baseline_steps_to_target"`
	// StepsToTarget is nil when the run never reached the target; the
	// score then uses EstimatedSteps, extrapolated from the final loss.
	StepsToTarget  *float64     `json:"steps_to_target"`
	EstimatedSteps *float64     `json:"estimated_steps,omitempty"`
	Curve          []CurvePoint `json:"curve"`
	BaselineCurve  []CurvePoint `json:"baseline_curve"`
	// RawBytes and SentBytes are, for activation_compression, the bytes
	// of the tensors that crossed the pipeline cut in the wire dtype and
	// of the messages that carried them: the compression ratio.
	RawBytes  int64 `json:"raw_bytes,omitempty"`
	SentBytes int64 `json:"sent_bytes,omitempty"`
}

// WithoutCurves is a copy of t without its curves (nil stays nil).
func (t *Training) WithoutCurves() *Training {
	if t == nil {
		return nil
	}
	c := *t
	c.Curve, c.BaselineCurve = nil, nil
	return &c
}

// CurvePoint is the held-out loss after Step optimizer steps.
type CurvePoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
}

// Evaluation is the outcome of scoring one module against a benchmark.
type Evaluation struct {
	Status Status `json:"status"` // scored, failed or rejected
	// Score is the official score: the mean over the hidden tasks when
	// there are any, else over the public ones. PublicScore is the mean
	// over the public tasks.
	Score            *float64     `json:"score"`
	PublicScore      *float64     `json:"public_score"`
	Round            int          `json:"round,omitempty"`
	Error            string       `json:"error"`
	FuelUsed         *int64       `json:"fuel_used"`
	FailedTasks      int          `json:"failed_tasks"`
	BenchmarkVersion int          `json:"benchmark_version"`
	Tasks            []TaskResult `json:"tasks"`
	// TimedOut says the wall-clock safety net cut the evaluation short:
	// not reproducible, and perhaps the machine's doing rather than the
	// module's, so it does not count against the competitor's daily cap.
	TimedOut bool `json:"timed_out,omitempty"`
	// HostFailure says the host could not evaluate the module at all (every
	// attempt broke on the host's side): not the competitor's doing, so it
	// is not charged to the daily cap either.
	HostFailure bool `json:"host_failure,omitempty"`
	// GuestTime is the wall time spent inside the module, for benchmark
	// reports; it is not part of the (reproducible) result.
	GuestTime time.Duration `json:"-"`
}

// ReceiptFormat names the layout of Receipt; it changes when the fields do.
const ReceiptFormat = "arena.receipt.v1"

// Receipt is the server's signed account of one evaluation: what was run
// (the module's hash, the benchmark kind, version, parameters and limits,
// the fuel meter's version), on which seeds (the public ones in Params,
// the round's hidden ones by their commitment), and what came out, task by
// task. With the module and, once the round has closed, its revealed
// seeds, anyone can recompute every number in it bit for bit.
type Receipt struct {
	Format           string          `json:"format"`
	SubmissionID     string          `json:"submission_id"`
	Challenge        string          `json:"challenge"`
	Competitor       string          `json:"competitor"`
	ModuleSHA256     string          `json:"module_sha256"`
	Kind             string          `json:"kind"`
	BenchmarkVersion int             `json:"benchmark_version"`
	MeterVersion     int             `json:"meter_version"`
	Params           json.RawMessage `json:"params"`
	Limits           Limits          `json:"limits"`
	Round            int             `json:"round"`
	HiddenSeeds      int             `json:"hidden_seeds"`
	SeedCommitment   string          `json:"seed_commitment,omitempty"`
	Status           Status          `json:"status"`
	Error            string          `json:"error,omitempty"`
	Score            *float64        `json:"score"`
	PublicScore      *float64        `json:"public_score"`
	FuelUsed         *int64          `json:"fuel_used"`
	FailedTasks      int             `json:"failed_tasks"`
	TimedOut         bool            `json:"timed_out,omitempty"`
	// Tasks are the evaluation's tasks without their logs; a hidden task's
	// seed is 0 (the commitment stands for it).
	Tasks       []TaskResult `json:"tasks"`
	EvaluatedAt time.Time    `json:"evaluated_at"`
}

// SignedReceipt is a receipt as the server signed it. Body holds the exact
// bytes signed, a Receipt as JSON (base64 on the wire, so no JSON
// re-encoding along the way can change them), and nobody has to agree on a
// canonical JSON form.
type SignedReceipt struct {
	Body      []byte `json:"body"`
	Signature string `json:"signature"`  // Ed25519 over Body, base64
	PublicKey string `json:"public_key"` // the server's Ed25519 key, base64
}

// QueueState is the work waiting and under way, for admins: the
// database's view (the record) and JetStream's (the deliveries).
type QueueState struct {
	Queued         int          `json:"queued"`
	Running        int          `json:"running"`
	OldestQueuedAt *time.Time   `json:"oldest_queued_at"`
	Jobs           []PendingJob `json:"jobs"` // oldest first, at most 100
	Stream         StreamState  `json:"stream"`
}

// PendingJob is a queued or running submission.
type PendingJob struct {
	SubmissionID string    `json:"submission_id"`
	Challenge    string    `json:"challenge"`
	Competitor   string    `json:"competitor"`
	Status       Status    `json:"status"`
	Attempts     int       `json:"attempts"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`         // a running job's last heartbeat
	Position     int       `json:"position,omitempty"` // a queued job's, as QueuePlace counts it
	// RequeueReason says why the job went back into the queue, if it did.
	RequeueReason string `json:"requeue_reason,omitempty"`
}

// StreamState is the worker consumer's view of the job stream.
type StreamState struct {
	Undelivered uint64 `json:"undelivered"` // jobs no worker has taken yet
	InFlight    int    `json:"in_flight"`   // delivered, not yet acknowledged
	Redelivered int    `json:"redelivered"` // in flight after an earlier delivery was lost
	Waiting     int    `json:"waiting"`     // workers' pull requests waiting for a job
}

// LeaderboardEntry is a competitor's best scored submission in a challenge.
type LeaderboardEntry struct {
	Rank         int       `json:"rank"`
	Competitor   string    `json:"competitor"`
	SubmissionID string    `json:"submission_id"`
	Score        float64   `json:"score"`
	Round        int       `json:"round"` // the round whose hidden seeds gave Score
	ScoredAt     time.Time `json:"scored_at"`
}

// Champion is the submission that currently holds a challenge's crown.
type Champion struct {
	Challenge    string `json:"challenge"`
	SubmissionID string `json:"submission_id"`
	Competitor   string `json:"competitor"`
	// Score is the champion's official score as of its latest evaluation,
	// in Round: a new round re-evaluates the champion on its seeds.
	Score     float64   `json:"score"`
	Round     int       `json:"round,omitempty"`
	SHA256    string    `json:"sha256"`
	CrownedAt time.Time `json:"crowned_at"`
}

// Round is one round of a challenge. Its hidden seeds are committed to
// when it opens and revealed when it closes: Commitment is the hex
// SHA-256 of Salt followed by each seed as 8 big-endian bytes.
type Round struct {
	Round       int        `json:"round"`
	OpenedAt    time.Time  `json:"opened_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	HiddenSeeds int        `json:"hidden_seeds"`
	Commitment  string     `json:"commitment,omitempty"` // none without hidden seeds
	Salt        string     `json:"salt,omitempty"`       // hex, once closed
	Seeds       []uint64   `json:"seeds,omitempty"`      // once closed
}

// RoundChange is what opening a challenge's next round did.
type RoundChange struct {
	Closed    Round  `json:"closed"`
	Opened    Round  `json:"opened"`
	Rescoring string `json:"rescoring,omitempty"` // the champion's submission, queued for the new round's seeds
}

// Validate checks that every limit is in its allowed range.
func (l Limits) Validate() error {
	switch {
	case l.MaxModuleBytes < 1 || l.MaxModuleBytes > MaxModuleBytes:
		return Errorf(EINVALID, "limits.max_module_bytes: must be between 1 and %d, got %d", MaxModuleBytes, l.MaxModuleBytes)
	case l.MemoryPages < 1 || l.MemoryPages > 65536:
		return Errorf(EINVALID, "limits.memory_pages: must be between 1 and 65536, got %d", l.MemoryPages)
	case l.FuelPerTask < 1000 || l.FuelPerTask > MaxFuelPerTask:
		return Errorf(EINVALID, "limits.fuel_per_task: must be between 1000 and %d, got %d", int64(MaxFuelPerTask), l.FuelPerTask)
	case l.TaskTimeoutMS < 10 || l.TaskTimeoutMS > 600_000:
		return Errorf(EINVALID, "limits.task_timeout_ms: must be between 10 and 600000, got %d", l.TaskTimeoutMS)
	case l.MaxLogBytes < 0 || l.MaxLogBytes > 1<<20:
		return Errorf(EINVALID, "limits.max_log_bytes: must be between 0 and %d, got %d", 1<<20, l.MaxLogBytes)
	}
	return nil
}

// Validate checks the rules.
func (r Rules) Validate() error {
	if !(r.Margin >= 0 && r.Margin <= 10) {
		return Errorf(EINVALID, "rules.margin: must be between 0 and 10, got %v", r.Margin)
	}
	if r.HiddenSeeds < 0 || r.HiddenSeeds > 64 {
		return Errorf(EINVALID, "rules.hidden_seeds: must be between 0 and 64, got %d", r.HiddenSeeds)
	}
	if r.DailySubmissions < 0 || r.DailySubmissions > 10_000 {
		return Errorf(EINVALID, "rules.daily_submissions: must be between 0 (no cap) and 10000, got %d", r.DailySubmissions)
	}
	if r.OpensAt != nil && r.ClosesAt != nil && !r.ClosesAt.After(*r.OpensAt) {
		return Errorf(EINVALID, "rules.closes_at: must be after opens_at")
	}
	if r.RoundHours < 0 || r.RoundHours > 24*366 {
		return Errorf(EINVALID, "rules.round_hours: must be between 0 (rounds opened by admins) and %d, got %d", 24*366, r.RoundHours)
	}
	return nil
}

// TensorRole says what a tensor of a model is for, so that a strategy can
// treat matrices, embeddings and gains differently (Muon orthogonalizes
// only hidden matrices; Adafactor and per-role learning rates need it too).
// The numbers are part of the optimizer ABI v2's tensor table.
type TensorRole uint32

const (
	TensorFlat      TensorRole = 0  // an unstructured vector (ABI v1 modules see one)
	TensorEmbedding TensorRole = 1  // token embedding, vocab × width
	TensorPosition  TensorRole = 2  // learned positions, context × width
	TensorAttnQ     TensorRole = 3  // attention query projection, width × width
	TensorAttnK     TensorRole = 4  // attention key projection
	TensorAttnV     TensorRole = 5  // attention value projection
	TensorAttnO     TensorRole = 6  // attention output projection
	TensorMLPIn     TensorRole = 7  // MLP up projection, width × 4·width
	TensorMLPOut    TensorRole = 8  // MLP down projection, 4·width × width
	TensorNormGain  TensorRole = 9  // a norm's gain, 1 × width
	TensorHead      TensorRole = 10 // output head, width × vocab
)

var tensorRoleNames = [...]string{"flat", "embedding", "position", "attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out", "norm_gain", "head"}

func (r TensorRole) String() string {
	if int(r) < len(tensorRoleNames) {
		return tensorRoleNames[r]
	}
	return "unknown"
}

// MarshalText writes the role's name, so tables read well as JSON.
func (r TensorRole) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role's name.
func (r *TensorRole) UnmarshalText(b []byte) error {
	for i, name := range tensorRoleNames {
		if name == string(b) {
			*r = TensorRole(i)
			return nil
		}
	}
	return Errorf(EINVALID, "unknown tensor role %q", b)
}

// Hidden reports whether the role is a hidden-layer weight matrix: the
// tensors that matrix-aware optimizers such as Muon treat as matrices.
func (r TensorRole) Hidden() bool { return r >= TensorAttnQ && r <= TensorMLPOut }

// Tensor is one entry of a model's tensor table: a Rows × Cols matrix
// stored row-major in the flat parameter vector from element Offset on.
// A vector is one row.
type Tensor struct {
	Name   string     `json:"name"`
	Role   TensorRole `json:"role"`
	Rows   int        `json:"rows"`
	Cols   int        `json:"cols"`
	Offset int        `json:"offset"`
}

// Size is the tensor's element count.
func (t Tensor) Size() int { return t.Rows * t.Cols }
