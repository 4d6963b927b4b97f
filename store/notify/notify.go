// Package notify queues outgoing e-mail. Messages are River jobs inserted in the caller's transaction, so
// a message exists exactly when the change that caused it commits. The body is sealed with the data key
// because it may hold a secret link (password reset, invitation) and job rows outlive the send.
package notify

import (
	"context"
	"fmt"
	"net/mail"

	"github.com/riverqueue/river"

	"ledgerline/store"
)

// EmailArgs is the job that sends one e-mail. SealedText is the plain-text body sealed with the data key,
// bound to To.
type EmailArgs struct {
	To         string `json:"to"`
	Subject    string `json:"subject"`
	SealedText []byte `json:"sealed_text"`
}

// Kind is the River job kind.
func (EmailArgs) Kind() string { return "email_send" }

// InsertOpts retries for about a day: an SMTP outage delays mail, it does not lose it.
func (EmailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: "email", MaxAttempts: 20}
}

// EmailParams is one message to send.
type EmailParams struct {
	To      string
	Subject string
	Text    string
}

// Email queues a message in tx.
func Email(ctx context.Context, tx *store.Tx, p EmailParams) error {
	if _, err := mail.ParseAddress(p.To); err != nil {
		return fmt.Errorf("error queuing e-mail: bad recipient %q: %w", p.To, err)
	}
	args := EmailArgs{To: p.To, Subject: p.Subject, SealedText: tx.Secrets().Seal([]byte(p.Text), []byte(p.To))}
	return tx.Enqueue(ctx, args, nil)
}

// Open returns the plain-text body of args.
func (a EmailArgs) Open(s *store.Sealer) (string, error) {
	b, err := s.Open(a.SealedText, []byte(a.To))
	if err != nil {
		return "", err
	}
	return string(b), nil
}
