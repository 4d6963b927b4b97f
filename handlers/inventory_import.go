package handlers

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/files"
	"ledgerline/store/inventory"
	"ledgerline/views/inventoryimport"
	"ledgerline/views/ui"
)

// The inventory CSV import: the upload form, one import's page with its polled progress, and the error
// report of a rejected file. Every route needs InventoryAdjust (routes.go), which the store checks again.
//
// The upload is streamed from the request into PostgreSQL a chunk at a time: HTMX sends the CSRF token as
// a header, so nothing parses the multipart body before this handler reads it part by part.

const importPath = "/inventory/import"

func importHref(id store.ID) string { return "/inventory/imports/" + id.String() }

func importStateLabel(s inventory.ImportState) (label, badge string) {
	switch s {
	case inventory.ImportQueued:
		return "Queued", ui.BadgePending
	case inventory.ImportValidating:
		return "Checking", ui.BadgeInProgress
	case inventory.ImportImporting:
		return "Importing", ui.BadgeInProgress
	case inventory.ImportDone:
		return "Imported", ui.BadgeApproved
	case inventory.ImportRejected:
		return "Rejected", ui.BadgeRejected
	case inventory.ImportFailed:
		return "Not completed", ui.BadgeRejected
	}
	return string(s), ui.BadgeDraft
}

func (h *Handler) importUploadView(c echo.Context, errs []ui.FieldError) (inventoryimport.UploadView, error) {
	ctx := c.Request().Context()
	v := inventoryimport.UploadView{CSRFToken: csrfToken(c), Errors: errs, Columns: inventory.ImportColumns,
		MaxSize: files.SizeText(inventory.ImportMaxSize)}
	var units []string
	for _, u := range inventory.UnitList() {
		units = append(units, string(u)+" ("+u.Label()+")")
	}
	v.Units = strings.Join(units, ", ")
	recent, err := inventory.ImportList(ctx, h.db, scope(c))
	if err != nil {
		return v, err
	}
	loc := actorFrom(ctx).Tenant.Location()
	for _, imp := range recent {
		label, badge := importStateLabel(imp.State)
		v.Recent = append(v.Recent, inventoryimport.Row{Href: importHref(imp.ID), FileName: imp.FileName,
			When: imp.CreatedAt.In(loc).Format("2 Jan 2006 15:04"), StateLabel: label, Badge: badge})
	}
	return v, nil
}

func (h *Handler) inventoryImportPage(c echo.Context) error {
	v, err := h.importUploadView(c, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, inventoryimport.Upload(h.shell(c, "Import items — Inventory"), v))
}

// importBodyLimit bounds the whole request: the file plus the form's other fields and multipart framing.
const importBodyLimit = inventory.ImportMaxSize + 64<<10

// tooLargeReader turns the request body limit into the store's "file too large" message.
type tooLargeReader struct{ r io.Reader }

func (t tooLargeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return n, files.TooLarge(inventory.ImportMaxSize)
	}
	return n, err
}

func (h *Handler) inventoryImportUpload(c echo.Context) error {
	ctx := c.Request().Context()
	req := c.Request()
	fail := func(err error) error {
		errs := fieldErrors(err, "file")
		if len(errs) == 0 {
			if store.ErrorCode(err) != store.Invalid {
				return err
			}
			errs = []ui.FieldError{{Field: "file", Message: store.ErrorMessage(err)}}
		}
		v, verr := h.importUploadView(c, errs)
		if verr != nil {
			return verr
		}
		if req.Header.Get("HX-Request") == "true" {
			return render(c, http.StatusUnprocessableEntity, inventoryimport.UploadForm(v))
		}
		return render(c, http.StatusUnprocessableEntity, inventoryimport.Upload(h.shell(c, "Import items — Inventory"), v))
	}
	noFile := (store.FieldErrors{"file": "Choose a CSV file to import."}).Err()

	var (
		name, contentType string
		body              io.Reader
	)
	if req.MultipartForm != nil {
		// The CSRF check read the form field already (a browser without JavaScript): take the parsed file.
		fh, err := c.FormFile("file")
		if err != nil {
			return fail(noFile)
		}
		if fh.Size > inventory.ImportMaxSize {
			return fail(files.TooLarge(inventory.ImportMaxSize))
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		name, contentType, body = fh.Filename, fh.Header.Get("Content-Type"), f
	} else {
		if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
			return fail(noFile)
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, importBodyLimit)
		mr, err := req.MultipartReader()
		if err != nil {
			return fail(noFile)
		}
		var part *multipart.Part
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fail(files.TooLarge(inventory.ImportMaxSize))
			}
			if err != nil {
				return fail(noFile)
			}
			if p.FormName() == "file" && p.FileName() != "" {
				part = p
				break
			}
		}
		if part == nil {
			return fail(noFile)
		}
		name, contentType, body = part.FileName(), part.Header.Get("Content-Type"), tooLargeReader{part}
	}
	if !strings.HasSuffix(strings.ToLower(name), ".csv") && !strings.Contains(contentType, "csv") && !strings.HasPrefix(contentType, "text/") {
		return fail((store.FieldErrors{"file": "Choose a CSV file (a .csv file saved as \"CSV UTF-8\")."}).Err())
	}
	imp, err := inventory.ImportCreate(ctx, h.db, scope(c), inventory.ImportCreateParams{FileName: name, ContentType: "text/csv", Body: body})
	if err != nil {
		if store.ErrorCode(err) == store.Invalid {
			return fail(err)
		}
		return err
	}
	return redirect(c, importHref(imp.ID))
}

func (h *Handler) inventoryImportShow(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	imp, err := inventory.ImportGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	loc := actorFrom(ctx).Tenant.Location()
	label, badge := importStateLabel(imp.State)
	v := inventoryimport.StatusView{
		Href: importHref(imp.ID), FileName: imp.FileName, FileSize: files.SizeText(imp.FileSize),
		RequestedBy: "the system", RequestedAt: imp.CreatedAt.In(loc).Format("2 Jan 2006 15:04"),
		State: string(imp.State), StateLabel: label, Badge: badge, Polling: imp.State.Open(),
		Done: imp.RowsDone, Total: imp.RowsTotal, ItemsCreated: imp.ItemsCreated, StockLines: imp.StockLines,
		ErrorCount: imp.ErrorCount, Message: imp.Message,
	}
	if imp.RequestedByName != nil {
		v.RequestedBy = *imp.RequestedByName
	}
	if imp.FinishedAt != nil {
		v.Finished = imp.FinishedAt.In(loc).Format("2 Jan 2006 15:04")
	}
	if imp.ErrorFileID != nil {
		v.ErrorsHref = importHref(imp.ID) + "/errors.csv"
	}
	if hxTargets(c, inventoryimport.StatusPanelID) {
		return render(c, http.StatusOK, inventoryimport.StatusPanel(v))
	}
	return render(c, http.StatusOK, inventoryimport.Status(h.shell(c, "Import "+imp.FileName+" — Inventory"), v))
}

func (h *Handler) inventoryImportErrors(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	r, err := inventory.ImportErrorReport(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Disposition", `attachment; filename="import-errors-`+id.String()+`.csv"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	return c.Stream(http.StatusOK, "text/csv; charset=utf-8", r)
}
