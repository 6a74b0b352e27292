package web

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/arena-dev/arena"
)

// taskView is one task's row, with its chart when it has curves.
type taskView struct {
	arena.TaskResult
	Chart *chart
}

func (h *Handler) submission(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sub, err := h.store.Submission(ctx, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.store.Place(ctx, &sub, h.workers); err != nil {
		h.fail(w, r, err)
		return
	}
	v := viewerFrom(ctx)
	// As in the API: per-task details (logs included) for the owner and
	// admins; a hidden task's seed, log and curves for admins only.
	var tasks []taskView
	if v.Admin() || v.Owns(sub) {
		for _, t := range sub.Tasks {
			if t.Hidden && !v.Admin() {
				t.Seed, t.Log = 0, ""
				t.Training = t.Training.WithoutCurves()
			}
			tasks = append(tasks, taskView{TaskResult: t, Chart: curveChart(t)})
		}
	}
	h.render(w, r, http.StatusOK, "submission", map[string]any{
		"Title": "Submission " + sub.ID[:8], "Sub": sub, "Tasks": tasks, "Live": !sub.Status.Final(),
		"CanRescore":    v.Admin() && (sub.Status == arena.StatusScored || sub.Status == arena.StatusFailed || sub.Status == arena.StatusRejected),
		"CanDisqualify": v.Admin() && sub.Status != arena.StatusDisqualified,
		"Flash":         r.URL.Query().Get("done"),
	})
}

// curveChart charts a task's held-out loss against the baseline's on the
// same axes; nil when the task recorded no curves.
func curveChart(t arena.TaskResult) *chart {
	tr := t.Training
	if tr == nil || len(tr.Curve) == 0 {
		return nil
	}
	points := func(c []arena.CurvePoint) [][2]float64 {
		out := make([][2]float64, len(c))
		for i, p := range c {
			out[i] = [2]float64{float64(p.Step), p.Loss}
		}
		return out
	}
	seed := fmt.Sprintf("seed %d", t.Seed)
	if t.Hidden && t.Seed == 0 {
		seed = "hidden seed"
	}
	c := &chart{
		Title:  fmt.Sprintf("%s, %s: held-out loss", t.Workload, seed),
		X:      axis{Label: "step"},
		Y:      axis{Label: "held-out loss"},
		Series: []series{{Label: "this submission", Color: colorMain, Points: points(tr.Curve)}},
	}
	if len(tr.BaselineCurve) > 0 {
		c.Series = append(c.Series, series{Label: "baseline", Color: colorBar, Dash: true, Points: points(tr.BaselineCurve)})
	}
	return c
}

// rescore is the admin's button: score a finished submission again.
func (h *Handler) rescore(w http.ResponseWriter, r *http.Request) {
	if !viewerFrom(r.Context()).Admin() {
		h.fail(w, r, arena.Errorf(arena.EFORBIDDEN, "only admins can score a submission again"))
		return
	}
	sub, err := h.actions.Rescore(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/submissions/"+sub.ID+"?done=rescored", http.StatusSeeOther)
}

// disqualify is the admin's form: take a submission out, saying why.
func (h *Handler) disqualify(w http.ResponseWriter, r *http.Request) {
	if !viewerFrom(r.Context()).Admin() {
		h.fail(w, r, arena.Errorf(arena.EFORBIDDEN, "only admins can disqualify a submission"))
		return
	}
	sub, _, err := h.actions.Disqualify(r.Context(), chi.URLParam(r, "id"), formValue(w, r, "reason"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/submissions/"+sub.ID+"?done=disqualified", http.StatusSeeOther)
}
