package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/arena-dev/arena"
)

// me is a competitor's own page: their submissions to every challenge,
// and the upload form.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	h.renderMe(w, r, http.StatusOK, "")
}

func (h *Handler) renderMe(w http.ResponseWriter, r *http.Request, status int, problem string) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	if v.Principal == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	data := map[string]any{"Title": "My submissions", "Error": problem, "Chosen": r.PostFormValue("challenge")}
	if data["Chosen"] == "" {
		data["Chosen"] = r.URL.Query().Get("challenge")
	}
	if v.Competitor() {
		subs, err := h.store.SubmissionsBy(ctx, v.Principal.CompetitorID, 100)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		cs, err := h.store.Challenges(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		data["Subs"], data["Challenges"] = subs, cs
	}
	h.render(w, r, status, "me", data)
}

// upload takes the form's module and submits it as the API would, with
// the same checks and errors; the competitor lands on its page.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r.Context())
	if !v.Competitor() {
		h.fail(w, r, arena.Errorf(arena.EFORBIDDEN, "uploading needs a competitor's sign-in"))
		return
	}
	slug := formValue(w, r, "challenge")
	if r.MultipartForm == nil {
		h.renderMe(w, r, http.StatusBadRequest, "The form did not arrive whole: choose a .wasm file and send it again.")
		return
	}
	f, _, err := r.FormFile("module")
	if errors.Is(err, http.ErrMissingFile) {
		h.renderMe(w, r, http.StatusBadRequest, "Choose a .wasm file to upload.")
		return
	}
	if err != nil {
		h.renderMe(w, r, http.StatusBadRequest, "Reading the upload: "+err.Error())
		return
	}
	defer f.Close()
	module, err := io.ReadAll(f)
	if err != nil {
		h.renderMe(w, r, http.StatusBadRequest, "Reading the upload: "+err.Error())
		return
	}
	sub, err := h.actions.Submit(r.Context(), slug, v.Principal.CompetitorID, module)
	if err != nil {
		switch arena.ErrorCode(err) {
		case arena.EINTERNAL, arena.EUNAVAILABLE:
			h.fail(w, r, err)
		default:
			h.renderMe(w, r, statusOf(err), arena.ErrorMessage(err))
		}
		return
	}
	http.Redirect(w, r, "/submissions/"+sub.ID, http.StatusSeeOther)
}
