package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/events"
	"ledgerline/store/webhooks"
)

// webhooksWorkers adds the workers for webhook deliveries.
func webhooksWorkers(workers *river.Workers, deps Deps) error {
	guard := deps.Webhooks
	if guard == nil {
		guard = &webhooks.Guard{}
	}
	if err := river.AddWorkerSafely(workers, &EventFanOutWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding event fan-out worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &WebhookDeliverWorker{DB: deps.DB, Client: NewWebhookClient(guard)}); err != nil {
		return fmt.Errorf("error adding webhook delivery worker: %w", err)
	}
	return nil
}

// webhooksPeriodicJobs are the periodic jobs for webhook deliveries: none, retries are River's.
func webhooksPeriodicJobs() []*river.PeriodicJob {
	return nil
}

// EventFanOutWorker turns a recorded event into deliveries to the endpoints that subscribe to it.
type EventFanOutWorker struct {
	river.WorkerDefaults[events.FanOutArgs]
	DB *store.DB
}

// Work fans the event out; it is idempotent, so a retry creates no second delivery.
func (w *EventFanOutWorker) Work(ctx context.Context, job *river.Job[events.FanOutArgs]) error {
	_, err := webhooks.FanOut(ctx, w.DB, job.Args.TenantID, job.Args.EventID)
	return err
}

// Limits of one delivery request.
const (
	// WebhookTimeout bounds a whole request, from dialling to the last byte of the answer.
	WebhookTimeout = 10 * time.Second
	// WebhookResponseMax is the largest answer read; a larger one fails the attempt.
	WebhookResponseMax  = 64 << 10
	webhookRedirectsMax = 3
)

// errWebhookRedirect is returned for a redirect to another host.
var errWebhookRedirect = errors.New("redirect to another host refused")

// NewWebhookClient returns the HTTP client of deliveries: every connection goes through guard's dialer
// (no private addresses, checked on the address connected to), no proxy from the environment, redirects
// only to the same host and at most three, and a timeout on the whole request.
func NewWebhookClient(guard *webhooks.Guard) *http.Client {
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           guard.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: WebhookTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   WebhookTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= webhookRedirectsMax {
				return fmt.Errorf("stopped after %d redirects", webhookRedirectsMax)
			}
			if !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
				return fmt.Errorf("%w: %s", errWebhookRedirect, req.URL.Host)
			}
			return nil
		},
	}
}

// WebhookDeliverWorker attempts one delivery: it signs the body, posts it, and records the outcome. A
// failure returns an error so that River retries on the schedule of webhooks.Backoff.
type WebhookDeliverWorker struct {
	river.WorkerDefaults[webhooks.DeliverArgs]
	DB     *store.DB
	Client *http.Client
}

// NextRetry follows webhooks.Backoff: 30 s, tripling, at most 8 hours, about a day in all.
func (w *WebhookDeliverWorker) NextRetry(job *river.Job[webhooks.DeliverArgs]) time.Time {
	return time.Now().Add(webhooks.Backoff(job.Attempt))
}

// Timeout leaves room for the request's own timeout and the bookkeeping around it.
func (w *WebhookDeliverWorker) Timeout(*river.Job[webhooks.DeliverArgs]) time.Duration {
	return WebhookTimeout + 20*time.Second
}

// Work makes one attempt.
func (w *WebhookDeliverWorker) Work(ctx context.Context, job *river.Job[webhooks.DeliverArgs]) error {
	a, err := webhooks.AttemptPrepare(ctx, w.DB, job.Args.TenantID, job.Args.DeliveryID, time.Now())
	if err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return river.JobCancel(err)
		}
		return err
	}
	if a.Skip {
		return nil // delivered already (a retry after a crash), given up, or the endpoint is off
	}
	res := w.send(ctx, a)
	res.Attempt = job.Attempt
	res.Final = job.Attempt >= job.MaxAttempts
	if err := webhooks.AttemptRecord(ctx, w.DB, job.Args.TenantID, job.Args.DeliveryID, res); err != nil {
		return err
	}
	if res.Succeeded() || res.Final {
		return nil
	}
	if res.Err != "" {
		return fmt.Errorf("webhook delivery %s failed: %s", job.Args.DeliveryID, res.Err)
	}
	return fmt.Errorf("webhook delivery %s failed: receiver answered %d", job.Args.DeliveryID, res.Status)
}

// send posts the attempt and measures it. It never returns an error: the outcome is in the result.
func (w *WebhookDeliverWorker) send(ctx context.Context, a *webhooks.Attempt) webhooks.AttemptResult {
	return SendWebhook(ctx, w.Client, a)
}

// SendWebhook posts a signed delivery with the Standard Webhooks headers and reads at most
// WebhookResponseMax of the answer.
func SendWebhook(ctx context.Context, client *http.Client, a *webhooks.Attempt) webhooks.AttemptResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, strings.NewReader(string(a.Body)))
	if err != nil {
		return webhooks.AttemptResult{Err: "The endpoint URL is invalid: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Ledgerline-Webhooks/1")
	req.Header.Set("webhook-id", a.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(a.Timestamp.Unix(), 10))
	req.Header.Set("webhook-signature", a.Signatures)
	resp, err := client.Do(req)
	if err != nil {
		return webhooks.AttemptResult{Duration: time.Since(start), Err: describeSendError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, WebhookResponseMax+1))
	res := webhooks.AttemptResult{Status: resp.StatusCode, Duration: time.Since(start), Body: string(body)}
	switch {
	case err != nil:
		res.Err = "Reading the answer failed: " + describeSendError(err)
	case len(body) > WebhookResponseMax:
		res.Err = fmt.Sprintf("The answer was larger than %d KiB.", WebhookResponseMax>>10)
		res.Body = string(body[:1024])
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Err = "The receiver redirected (" + resp.Header.Get("Location") + "); redirects are not followed past " + strconv.Itoa(webhookRedirectsMax) + " or to another host."
	}
	return res
}

func describeSendError(err error) string {
	switch {
	case errors.Is(err, webhooks.ErrForbiddenAddress):
		return "Refused: the address is in a private, loopback or link-local network. " + err.Error()
	case errors.Is(err, errWebhookRedirect):
		return "Refused: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return fmt.Sprintf("No answer within %s.", WebhookTimeout)
	}
	return err.Error()
}
