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
	"log/slog"
	"sync"
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

// Config tunes redelivery and the watch on the job stream.
type Config struct {
	// AckWait is how long a job may go without a heartbeat before
	// JetStream hands it to another worker.
	AckWait time.Duration
	// MaxDeliver is how many times a job is delivered before JetStream
	// gives up on it.
	MaxDeliver int
	// PullHeartbeat is how often the server tells a waiting worker that
	// its pull is alive (0: DefaultPullHeartbeat). Two missed in a row
	// (a NATS server restarted, perhaps without its store) and the worker
	// checks the stream and its consumer, recreates whichever is missing,
	// and pulls again.
	PullHeartbeat time.Duration
	// Logger hears of a stream or consumer recreated and of pulls
	// restarted; nil: nobody.
	Logger *slog.Logger
}

// DefaultPullHeartbeat is the pull heartbeat when Config sets none: a
// lost stream is noticed within twice that.
const DefaultPullHeartbeat = 2 * time.Second

// DefaultConfig suits evaluations of up to a few minutes, with heartbeats.
func DefaultConfig() Config { return Config{AckWait: 30 * time.Second, MaxDeliver: 5} }

// Queue publishes and consumes scoring jobs and champion events.
//
// The stream and the consumer live on the NATS server, which may lose
// them (a server restarted on an empty store): the queue recreates them
// when a publish finds no stream, when a worker's pull stops hearing from
// the server, and whenever Ensure is called (health checks and the
// reconciler call it).
type Queue struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger

	mu          sync.Mutex
	cons        jetstream.Consumer
	unpublished map[string]struct{} // jobs whose publish failed, for Republish
}

// maxUnpublished bounds the jobs a queue remembers to publish again; past
// it the reconciler, reading the database, finds the rest.
const maxUnpublished = 10000

// ensureTimeout bounds Ensure when its context has no earlier deadline,
// and Ping.
const ensureTimeout = 2 * time.Second

// New sets up the stream and the durable worker consumer on nc.
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if cfg.PullHeartbeat <= 0 {
		cfg.PullHeartbeat = DefaultPullHeartbeat
	}
	q := &Queue{nc: nc, js: js, cfg: cfg, log: cfg.Logger, unpublished: map[string]struct{}{}}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	// Create or update: a changed configuration takes effect at start-up.
	stream, err := js.CreateOrUpdateStream(ctx, q.streamConfig())
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, q.consumerConfig())
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", ConsumerName, err)
	}
	q.cons = cons
	return q, nil
}

func (q *Queue) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:      StreamName,
		Subjects:  []string{JobSubject},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
	}
}

func (q *Queue) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:    ConsumerName,
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    q.cfg.AckWait,
		MaxDeliver: q.cfg.MaxDeliver,
	}
}

// unavailable wraps a failure to reach the job stream as an arena
// unavailable error: the API answers it 503 with Retry-After.
func unavailable(err error) error {
	return &arena.Error{Code: arena.EUNAVAILABLE, Message: "the job queue is not answering; try again shortly", Err: err}
}

// Ensure checks that the job stream and the worker consumer exist on the
// server, recreating whichever is missing, and returns when the stream
// was created. A later time than the one seen before means the server
// lost the stream and every job in it: the caller republishes them from
// the database. Its errors are unavailable ones.
func (q *Queue) Ensure(ctx context.Context) (created time.Time, err error) {
	_, created, err = q.ensure(ctx)
	return created, err
}

func (q *Queue) ensure(ctx context.Context) (jetstream.Consumer, time.Time, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ensureTimeout)
		defer cancel()
	}
	if !q.nc.IsConnected() {
		return nil, time.Time{}, unavailable(fmt.Errorf("NATS connection is %s", q.nc.Status()))
	}
	stream, err := q.js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = q.js.CreateStream(ctx, q.streamConfig())
		if err == nil {
			q.log.Warn("queue: the job stream was missing (a NATS server restarted without its store?); recreated it, empty",
				"stream", StreamName)
		}
	}
	if err != nil {
		return nil, time.Time{}, unavailable(fmt.Errorf("job stream %s: %w", StreamName, err))
	}
	created := stream.CachedInfo().Created
	cons, err := stream.Consumer(ctx, ConsumerName)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = stream.CreateConsumer(ctx, q.consumerConfig())
		if err == nil {
			q.log.Warn("queue: the worker consumer was missing; recreated it", "consumer", ConsumerName)
		}
	}
	if err != nil {
		return nil, created, unavailable(fmt.Errorf("consumer %s: %w", ConsumerName, err))
	}
	q.mu.Lock()
	q.cons = cons
	q.mu.Unlock()
	return cons, created, nil
}

func (q *Queue) consumer() jetstream.Consumer {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cons
}

type jobMessage struct {
	SubmissionID string `json:"submission_id"`
}

// Publish enqueues a scoring job for a committed submission. When the
// stream is missing it is recreated and the publish tried again. When NATS
// is not connected it fails at once, rather than waiting for a reply that
// cannot come; either way a job that could not be published is remembered
// for Republish (and the database still has it, for the reconciler).
func (q *Queue) Publish(ctx context.Context, submissionID string) error {
	err := q.publish(ctx, submissionID)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, _, eerr := q.ensure(ctx); eerr == nil {
			err = q.publish(ctx, submissionID)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil {
		if len(q.unpublished) < maxUnpublished {
			q.unpublished[submissionID] = struct{}{}
		}
		return unavailable(fmt.Errorf("publish job %s: %w", submissionID, err))
	}
	delete(q.unpublished, submissionID)
	return nil
}

func (q *Queue) publish(ctx context.Context, submissionID string) error {
	if !q.nc.IsConnected() {
		return fmt.Errorf("NATS connection is %s", q.nc.Status())
	}
	data, _ := json.Marshal(jobMessage{SubmissionID: submissionID})
	_, err := q.js.Publish(ctx, JobSubject, data)
	return err
}

// Republish publishes again the jobs whose publish failed in this process,
// and returns how many it published and how many still failed.
func (q *Queue) Republish(ctx context.Context) (published, failed int) {
	q.mu.Lock()
	ids := make([]string, 0, len(q.unpublished))
	for id := range q.unpublished {
		ids = append(ids, id)
	}
	q.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		if err := q.Publish(ctx, id); err != nil {
			failed++
			continue
		}
		published++
	}
	return published, failed
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
	q   *Queue
	ctx context.Context

	mu      sync.Mutex
	it      jetstream.MessagesContext // nil: to be opened again
	stopped bool
}

// Jobs opens a pull subscription that fetches one job at a time.
func (q *Queue) Jobs(ctx context.Context) (*Jobs, error) {
	js := &Jobs{q: q, ctx: ctx}
	it, err := js.open(q.consumer())
	if err != nil {
		return nil, fmt.Errorf("pull jobs: %w", err)
	}
	js.it = it
	reconnected := q.nc.StatusChanged(nats.CONNECTED)
	go func() {
		defer q.nc.RemoveStatusListener(reconnected)
		for {
			select {
			case <-ctx.Done():
				js.mu.Lock()
				defer js.mu.Unlock()
				js.stopped = true
				if js.it != nil {
					js.it.Stop()
				}
				return
			case _, ok := <-reconnected:
				if !ok {
					return
				}
				// The server may be a new one, without the stream: the
				// pull sent on reconnecting finds no consumer and is
				// lost, and its heartbeats would take a while to be
				// missed. Make sure they exist, then pull afresh.
				if _, _, err := q.ensure(ctx); err == nil {
					js.restart()
				}
			}
		}
	}()
	return js, nil
}

// restart closes the open pull, so that Next opens another.
func (js *Jobs) restart() {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.it != nil {
		js.it.Stop()
		js.it = nil
	}
}

func (js *Jobs) open(cons jetstream.Consumer) (jetstream.MessagesContext, error) {
	hb := js.q.cfg.PullHeartbeat
	// A pull waits up to its expiry for a job, with heartbeats meanwhile;
	// the heartbeat must be at most half the expiry.
	expiry := max(time.Second, 5*hb)
	return cons.Messages(jetstream.PullMaxMessages(1), jetstream.PullHeartbeat(hb), jetstream.PullExpiry(expiry))
}

// iterator returns the open pull, opening a new one (on a stream and
// consumer recreated if need be) after the last one broke.
func (js *Jobs) iterator() (jetstream.MessagesContext, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.stopped {
		return nil, ErrStopped
	}
	if js.it != nil {
		return js.it, nil
	}
	cons, _, err := js.q.ensure(js.ctx)
	if err != nil {
		return nil, err
	}
	it, err := js.open(cons)
	if err != nil {
		return nil, unavailable(fmt.Errorf("pull jobs: %w", err))
	}
	js.it = it
	return it, nil
}

// broken closes a pull that stopped working, so the next call opens
// another.
func (js *Jobs) broken(it jetstream.MessagesContext) {
	js.mu.Lock()
	defer js.mu.Unlock()
	it.Stop()
	if js.it == it {
		js.it = nil
	}
}

// ErrStopped is returned by Next once the subscription has been stopped.
var ErrStopped = errors.New("job subscription stopped")

// Next blocks for the next job. When the pull breaks (no heartbeat from
// the server, the consumer deleted, the connection closed), it checks the
// stream and consumer, recreating what is missing, and pulls again; it
// returns an error when it cannot, and the next call tries again.
func (js *Jobs) Next() (*Job, error) {
	var msg jetstream.Msg
	for try := 0; ; try++ {
		it, err := js.iterator()
		if err != nil {
			if js.ctx.Err() != nil {
				return nil, ErrStopped
			}
			return nil, fmt.Errorf("next job: %w", err)
		}
		msg, err = it.Next()
		if err == nil {
			break
		}
		if js.ctx.Err() != nil {
			return nil, ErrStopped
		}
		js.broken(it)
		if try > 0 {
			return nil, fmt.Errorf("next job: %w", err)
		}
		js.q.log.Info("queue: the job pull broke; checking the stream and pulling again", "err", err)
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

// State is the worker consumer's view of the job stream (recreating
// the stream or consumer when missing, so the view is of what workers
// pull from). Its errors are unavailable ones.
func (q *Queue) State(ctx context.Context) (arena.StreamState, error) {
	cons, _, err := q.ensure(ctx)
	if err != nil {
		return arena.StreamState{}, err
	}
	info := cons.CachedInfo()
	return arena.StreamState{Undelivered: info.NumPending, InFlight: info.NumAckPending,
		Redelivered: info.NumRedelivered, Waiting: info.NumWaiting}, nil
}

// Ping reports whether the job queue works: the NATS connection is up and
// the stream and consumer exist, or could be recreated.
func (q *Queue) Ping() error {
	_, _, err := q.ensure(context.Background())
	return err
}
