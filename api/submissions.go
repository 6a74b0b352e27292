package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
	"github.com/arena-dev/arena/sandbox"
	"github.com/arena-dev/arena/scoring"
)

// createSubmission takes a module as the raw request body. It is
// validated statically before anything is stored, committed as queued,
// and only then published to the workers. A copy of a module already in
// the challenge, custom sections aside, is refused by the store.
func (s *Server) createSubmission(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _ := principal(r)
	c := challengeFrom(r)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/wasm" && mt != "application/octet-stream" {
		s.Error(w, r, arena.Errorf(arena.EINVALID, "Content-Type must be application/wasm, got %q", r.Header.Get("Content-Type")))
		return
	}
	// Before the module costs a read and a validation.
	if err := s.Admit(ctx, c, p.CompetitorID); err != nil {
		s.Error(w, r, err)
		return
	}
	tooLarge := TooLarge(c)
	if r.ContentLength > int64(c.Limits.MaxModuleBytes) {
		s.Error(w, r, tooLarge) // said before it is sent
		return
	}
	// The limit is told to the response, so a client sending far more
	// reads the 400 rather than a reset connection.
	module, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(c.Limits.MaxModuleBytes)))
	if err != nil {
		var limit *http.MaxBytesError
		var arenaErr *arena.Error
		switch {
		case errors.As(err, &limit):
			s.Error(w, r, tooLarge)
		case errors.As(err, &arenaErr): // the body's deadline passed
			s.Error(w, r, err)
		default:
			s.Error(w, r, arena.Errorf(arena.EINVALID, "reading the module: %v", err))
		}
		return
	}
	sub, err := s.enqueue(ctx, c, p.CompetitorID, module)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/submissions/"+sub.ID)
	writeJSON(w, http.StatusAccepted, sub)
}

// Admit says whether competitorID may submit to c now: the challenge is
// open and the competitor's daily cap not used up.
func (s *Server) Admit(ctx context.Context, c arena.Challenge, competitorID int64) error {
	if err := c.Rules.Accepting(time.Now()); err != nil {
		return err
	}
	return s.Store.SubmissionCap(ctx, c, competitorID)
}

// TooLarge is the error for a module over c's size limit.
func TooLarge(c arena.Challenge) error {
	return arena.Errorf(arena.EINVALID, "the module is larger than this challenge's limit of %d bytes", c.Limits.MaxModuleBytes)
}

// Submit is the whole of an upload for callers other than the API's
// handler (the pages' upload form): every check the API makes, with the
// same errors, then the submission is stored and queued.
func (s *Server) Submit(ctx context.Context, slug string, competitorID int64, module []byte) (arena.Submission, error) {
	c, err := s.Store.Challenge(ctx, slug)
	if err != nil {
		return arena.Submission{}, err
	}
	if err := s.Admit(ctx, c, competitorID); err != nil {
		return arena.Submission{}, err
	}
	if len(module) > c.Limits.MaxModuleBytes {
		return arena.Submission{}, TooLarge(c)
	}
	return s.enqueue(ctx, c, competitorID, module)
}

// enqueue validates a module statically, stores it as queued and only
// then publishes its job.
func (s *Server) enqueue(ctx context.Context, c arena.Challenge, competitorID int64, module []byte) (arena.Submission, error) {
	bench, err := scoring.New(c.Kind, c.Params)
	if err != nil {
		return arena.Submission{}, err
	}
	// Every check a worker makes, without compiling to machine code
	// (workers compile): the API keeps no compiled modules.
	if _, err := s.Engine.Validate(ctx, module, bench.ABI(), scoring.SandboxLimits(c.Limits)); err != nil {
		if rej := (*sandbox.RejectError)(nil); errors.As(err, &rej) {
			return arena.Submission{}, arena.Errorf(arena.EINVALID, "module rejected: %s", rej.Reason)
		}
		return arena.Submission{}, fmt.Errorf("validate module: %w", err)
	}
	sub, err := s.Store.CreateSubmission(ctx, c, competitorID, module)
	if err != nil {
		return sub, err
	}
	if err := s.Queue.Publish(ctx, sub.ID); err != nil {
		// Committed is what counts: the reconciler republishes it.
		s.Logger.Warn("publish job; the reconciler will retry", "submission", sub.ID, "err", err)
	}
	if err := s.Store.Place(ctx, &sub, s.Workers); err != nil {
		s.Logger.Warn("queue place", "submission", sub.ID, "err", err)
	}
	return sub, nil
}

// getSubmission shows a submission to anyone; per-task details, which
// include the module's logs, only to its owner and admins, and the seeds
// and logs of hidden tasks only to admins.
func (s *Server) getSubmission(w http.ResponseWriter, r *http.Request) {
	sub, err := s.Store.Submission(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, _ := principal(r)
	switch {
	case !canSeeDetails(r, sub):
		sub.Tasks = nil
	case p.Role != arena.RoleAdmin:
		// A hidden task's seed and log would give the seed away: the log is
		// the module's own, and a module can print what it was shown. Its
		// curves stay with admins too: the steps to target say how it went.
		for i := range sub.Tasks {
			if t := &sub.Tasks[i]; t.Hidden {
				t.Seed, t.Log = 0, ""
				t.Training = t.Training.WithoutCurves()
			}
		}
	}
	if sub.Tasks == nil {
		sub.Tasks = []arena.TaskResult{}
	}
	if err := s.Store.Place(r.Context(), &sub, s.Workers); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

func canSeeDetails(r *http.Request, sub arena.Submission) bool {
	p, ok := principal(r)
	return ok && (p.Role == arena.RoleAdmin || p.CompetitorID == sub.CompetitorID)
}

// listSubmissions lists a challenge's recent submissions; ?mine=1 keeps
// only the caller's.
func (s *Server) listSubmissions(w http.ResponseWriter, r *http.Request) {
	c := challengeFrom(r)
	var competitorID int64
	if r.URL.Query().Get("mine") != "" {
		p, ok := principal(r)
		if !ok || p.CompetitorID == 0 {
			s.Error(w, r, arena.Errorf(arena.EUNAUTHORIZED, "?mine needs a competitor key"))
			return
		}
		competitorID = p.CompetitorID
	}
	subs, err := s.Store.Submissions(r.Context(), c.ID, competitorID, 100)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"submissions": subs})
}

// rescoreSubmission queues a finished submission to be evaluated again on
// the challenge's current round (admin).
func (s *Server) rescoreSubmission(w http.ResponseWriter, r *http.Request) {
	sub, err := s.Rescore(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, sub)
}

// Rescore queues a finished submission to be scored again and tells its
// watchers (the API's handler and the pages' admin form share it).
func (s *Server) Rescore(ctx context.Context, id string) (arena.Submission, error) {
	sub, err := s.Store.Rescore(ctx, id)
	if err != nil {
		return sub, err
	}
	if err := s.Queue.Publish(ctx, sub.ID); err != nil {
		s.Logger.Warn("publish job; the reconciler will retry", "submission", sub.ID, "err", err)
	}
	s.Logger.Info("submission queued to be scored again", "submission", sub.ID, "challenge", sub.Challenge)
	if err := s.Queue.PublishSubmission(sub); err != nil {
		s.Logger.Warn("announce status", "submission", sub.ID, "err", err)
	}
	if err := s.Store.Place(ctx, &sub, s.Workers); err != nil {
		s.Logger.Warn("queue place", "submission", sub.ID, "err", err)
	}
	return sub, nil
}

// disqualifySubmission takes a submission out of the tournament (admin):
// {"reason": "..."}. When it held the crown, the crown returns to the
// latest champion before it still standing, and trainers are told.
func (s *Server) disqualifySubmission(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.Error(w, r, err)
		return
	}
	sub, changed, err := s.Disqualify(r.Context(), chi.URLParam(r, "id"), body.Reason)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"submission": sub, "crown_changed": changed != nil, "champion": championOrNil(changed)})
}

// Disqualify takes a submission out of the tournament for reason and
// tells its watchers, and the champion's when the crown changed hands;
// it returns the submission and the champion after a change (nil when the
// crown stayed). The API's handler and the pages' admin form share it.
func (s *Server) Disqualify(ctx context.Context, id, reason string) (arena.Submission, *arena.Champion, error) {
	if err := checkText("reason", reason); err != nil {
		return arena.Submission{}, nil, err
	}
	changed, err := s.Store.Disqualify(ctx, id, reason)
	if err != nil {
		return arena.Submission{}, nil, err
	}
	sub, err := s.Store.Summary(ctx, id)
	if err != nil {
		return sub, nil, err
	}
	s.Logger.Info("submission disqualified", "submission", id, "challenge", sub.Challenge, "reason", reason)
	if err := s.Queue.PublishSubmission(sub); err != nil {
		s.Logger.Warn("announce status", "submission", sub.ID, "err", err)
	}
	if changed != nil {
		if err := s.Queue.PublishChampion(changed.Challenge, changed); err != nil {
			s.Logger.Warn("announce champion", "err", err)
		}
	}
	return sub, changed, nil
}

// championOrNil is the champion after a change, or nil when the crown is
// vacant.
func championOrNil(c *arena.Champion) *arena.Champion {
	if c == nil || c.SubmissionID == "" {
		return nil
	}
	return c
}

// submissionModule serves a submission's module bytes to its owner and
// admins, to anyone once the challenge's reveal_after has passed, and the
// champion's always (trainers run it).
func (s *Server) submissionModule(w http.ResponseWriter, r *http.Request) {
	// Who may read it first: the bytes may be megabytes.
	sub, err := s.Store.Summary(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if !canSeeDetails(r, sub) {
		c, err := s.Store.Challenge(r.Context(), sub.Challenge)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		if err := s.revealed(r, c, sub); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	_, module, err := s.Store.Module(r.Context(), sub.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	serveModule(w, r, sub.ID, sub.SHA256, fmt.Sprintf("%s-%s.wasm", sub.Challenge, sub.ID[:8]), module)
}

// revealed says whether others may read sub's module yet.
func (s *Server) revealed(r *http.Request, c arena.Challenge, sub arena.Submission) error {
	if at := c.Rules.RevealAfter; at != nil && !time.Now().Before(*at) {
		return nil
	}
	champ, err := s.Store.Champion(r.Context(), c)
	switch {
	case err == nil && champ.SubmissionID == sub.ID:
		return nil
	case err != nil && arena.ErrorCode(err) != arena.ENOTFOUND:
		return err
	case c.Rules.RevealAfter == nil:
		return arena.Errorf(arena.EFORBIDDEN, "%s does not reveal its submissions' code: only its owner, the admins and, for the champion, everyone may download it", c.Slug)
	}
	return arena.Errorf(arena.EFORBIDDEN, "the code of %s's submissions is hidden until %s", c.Slug, c.Rules.RevealAfter.UTC().Format(time.RFC3339))
}

// submissionEvents streams a submission's status as server-sent events:
// where it is now, then each change (its progress while it runs, its
// queue place while it waits), ending once it is final. Each event is the
// record as it stands, read again when the worker announces a change and,
// for the queue place, which others' progress moves, every QueuePoll.
func (s *Server) submissionEvents(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	poll := s.QueuePoll
	if poll <= 0 {
		poll = DefaultQueuePoll
	}
	s.streamSnapshots(w, r, "submission", poll, func(fn func([]byte)) (func(), error) { return s.Queue.SubscribeSubmission(id, fn) },
		func() ([]byte, bool, error) {
			sub, err := s.Store.Summary(r.Context(), id)
			if err != nil {
				return nil, false, err
			}
			if err := s.Store.Place(r.Context(), &sub, s.Workers); err != nil {
				return nil, false, err
			}
			data, err := json.Marshal(sub)
			return data, sub.Status.Final(), err
		})
}

// DefaultQueuePoll is how often a queued submission's event stream reads
// its place again.
const DefaultQueuePoll = 2 * time.Second
