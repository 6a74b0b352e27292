// Package queue carries Arena's work and events over NATS JetStream. It is
// never the only copy of anything: Postgres is the record, a job is
// published only after its submission is committed, and a lost job is
// republished from the database.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-dev/arena"
)

// Names on the NATS server.
const (
	StreamName       = "ARENA_JOBS"
	JobSubject       = "arena.jobs.score"
	ConsumerName     = "arena-workers"
	championPrefix   = "arena.events.champion."
	submissionPrefix = "arena.events.submission."
)

// Config tunes redelivery.
type Config struct {
	// AckWait is how long a job may go without a heartbeat before
	// JetStream hands it to another worker.
	AckWait time.Duration
	// MaxDeliver is how many times a job is delivered before JetStream
	// gives up on it.
	MaxDeliver int
}

// DefaultConfig suits evaluations of up to a few minutes, with heartbeats.
func DefaultConfig() Config { return Config{AckWait: 30 * time.Second, MaxDeliver: 5} }

// Queue publishes and consumes scoring jobs and champion events.
type Queue struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	cons jetstream.Consumer
	cfg  Config
}

// New sets up the stream and the durable worker consumer on nc.
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      StreamName,
		Subjects:  []string{JobSubject},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:    ConsumerName,
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    cfg.AckWait,
		MaxDeliver: cfg.MaxDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", ConsumerName, err)
	}
	return &Queue{nc: nc, js: js, cons: cons, cfg: cfg}, nil
}

type jobMessage struct {
	SubmissionID string `json:"submission_id"`
}

// Publish enqueues a scoring job for a committed submission.
func (q *Queue) Publish(ctx context.Context, submissionID string) error {
	data, _ := json.Marshal(jobMessage{SubmissionID: submissionID})
	if _, err := q.js.Publish(ctx, JobSubject, data); err != nil {
		return fmt.Errorf("publish job %s: %w", submissionID, err)
	}
	return nil
}

// Job is one delivery of a scoring job.
type Job struct {
	SubmissionID string
	// Attempt counts deliveries from 1; LastAttempt is set on the final one.
	Attempt     int
	LastAttempt bool
	msg         jetstream.Msg
}

// Ack finishes the job.
func (j *Job) Ack() error { return j.msg.Ack() }

// Retry hands the job back for another delivery after delay.
func (j *Job) Retry(delay time.Duration) error { return j.msg.NakWithDelay(delay) }

// Drop discards a job that can never succeed (malformed).
func (j *Job) Drop(reason string) error { return j.msg.TermWithReason(reason) }

// InProgress extends the job's ack deadline.
func (j *Job) InProgress() error { return j.msg.InProgress() }

// Jobs delivers jobs until ctx is done.
type Jobs struct {
	it jetstream.MessagesContext
	q  *Queue
}

// Jobs opens a pull subscription that fetches one job at a time.
func (q *Queue) Jobs(ctx context.Context) (*Jobs, error) {
	it, err := q.cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		return nil, fmt.Errorf("pull jobs: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	return &Jobs{it: it, q: q}, nil
}

// ErrStopped is returned by Next once the subscription has been stopped.
var ErrStopped = errors.New("job subscription stopped")

// Next blocks for the next job.
func (js *Jobs) Next() (*Job, error) {
	msg, err := js.it.Next()
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil, ErrStopped
		}
		return nil, fmt.Errorf("next job: %w", err)
	}
	j := &Job{msg: msg, Attempt: 1}
	if md, err := msg.Metadata(); err == nil {
		j.Attempt = int(md.NumDelivered)
	}
	j.LastAttempt = j.Attempt >= js.q.cfg.MaxDeliver
	var m jobMessage
	if err := json.Unmarshal(msg.Data(), &m); err != nil || m.SubmissionID == "" {
		return j, fmt.Errorf("malformed job %q", msg.Data())
	}
	j.SubmissionID = m.SubmissionID
	return j, nil
}

// PublishChampion announces a challenge's new champion to subscribers.
func (q *Queue) PublishChampion(slug string, event any) error {
	return q.publishEvent(championPrefix+slug, event)
}

// SubscribeChampion calls fn with each champion event of a challenge until
// the returned function is called.
func (q *Queue) SubscribeChampion(slug string, fn func(data []byte)) (func(), error) {
	return q.subscribeEvents(championPrefix+slug, fn)
}

// PublishSubmission announces a submission's new status (a snapshot
// without its tasks) to whoever watches it.
func (q *Queue) PublishSubmission(sub arena.Submission) error {
	sub.Tasks = nil
	return q.publishEvent(submissionPrefix+sub.ID, sub)
}

// SubscribeSubmission calls fn with each status event of a submission
// until the returned function is called.
func (q *Queue) SubscribeSubmission(id string, fn func(data []byte)) (func(), error) {
	return q.subscribeEvents(submissionPrefix+id, fn)
}

// publishEvent sends an event as JSON; events are for watchers, never the
// record, so nobody waits for delivery.
func (q *Queue) publishEvent(subject string, event any) error {
	data, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	if err := q.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

func (q *Queue) subscribeEvents(subject string, fn func(data []byte)) (func(), error) {
	sub, err := q.nc.Subscribe(subject, func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", subject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// State is the worker consumer's view of the job stream.
func (q *Queue) State(ctx context.Context) (arena.StreamState, error) {
	info, err := q.cons.Info(ctx)
	if err != nil {
		return arena.StreamState{}, fmt.Errorf("consumer info: %w", err)
	}
	return arena.StreamState{Undelivered: info.NumPending, InFlight: info.NumAckPending,
		Redelivered: info.NumRedelivered, Waiting: info.NumWaiting}, nil
}

// Ping reports whether the NATS connection is up.
func (q *Queue) Ping() error {
	if !q.nc.IsConnected() {
		return fmt.Errorf("NATS connection is %s", q.nc.Status())
	}
	return nil
}
