package jobs

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/notify"
)

// Mailer sends plain-text e-mail over SMTP.
type Mailer struct {
	URL  *url.URL // smtp://user:pass@host:port or smtps:// for implicit TLS
	From string
}

// Send delivers one message. messageID makes a retried send recognisable as the same message.
func (m *Mailer) Send(ctx context.Context, to, subject, text, messageID string) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("error parsing MAIL_FROM: %w", err)
	}
	host := m.URL.Hostname()
	addr := net.JoinHostPort(host, m.URL.Port())
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if m.URL.Scheme == "smtps" {
		conn, err = tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{ServerName: host})
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("error connecting to SMTP server %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("error greeting SMTP server %s: %w", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && m.URL.Scheme == "smtp" {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil && !isLoopback(host) {
			return fmt.Errorf("error starting TLS with %s: %w", addr, err)
		}
	}
	if user := m.URL.User; user != nil {
		pass, _ := user.Password()
		if err := c.Auth(smtp.PlainAuth("", user.Username(), pass, host)); err != nil {
			return fmt.Errorf("error authenticating to %s: %w", addr, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("error in MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("error in RCPT TO %s: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("error in DATA: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@ledgerline>\r\n",
		from.String(), to, mime.QEncoding.Encode("utf-8", subject), time.Now().Format(time.RFC1123Z), messageID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	_ = qp.Close()
	if _, err := w.Write([]byte(b.String())); err != nil {
		return fmt.Errorf("error writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("error finishing message: %w", err)
	}
	return c.Quit()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// EmailSendWorker sends queued e-mail. A failed send is retried with River's back-off, so mail waits out
// an SMTP outage and goes out once it ends.
type EmailSendWorker struct {
	river.WorkerDefaults[notify.EmailArgs]
	Mailer *Mailer
	DB     *store.DB
}

// Work sends the message.
func (w *EmailSendWorker) Work(ctx context.Context, job *river.Job[notify.EmailArgs]) error {
	text, err := job.Args.Open(w.DB.Secrets)
	if err != nil {
		// A message sealed with another key can never be sent; retrying would not help.
		return river.JobCancel(fmt.Errorf("error opening e-mail body: %w", err))
	}
	return w.Mailer.Send(ctx, job.Args.To, job.Args.Subject, text, fmt.Sprintf("job-%d", job.ID))
}

// Timeout bounds one attempt.
func (w *EmailSendWorker) Timeout(*river.Job[notify.EmailArgs]) time.Duration { return time.Minute }
