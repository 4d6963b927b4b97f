package jobs

import (
	"context"
	"crypto/tls"
	"encoding/base64"
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

// Send delivers one plain-text message. messageID makes a retried send recognisable as the same message.
func (m *Mailer) Send(ctx context.Context, to, subject, text, messageID string) error {
	return m.SendMessage(ctx, Message{To: to, Subject: subject, Text: text, MessageID: messageID})
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is one e-mail: a plain-text body and optional attachments. MessageID (without the angle
// brackets and domain) makes a retried send recognisable as the same message.
type Message struct {
	To, Subject, Text, MessageID string
	Attachments                  []Attachment
}

// SendMessage delivers one message; with attachments it is multipart/mixed, without it is the same
// single text/plain part Send always wrote.
func (m *Mailer) SendMessage(ctx context.Context, msg Message) error {
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
	if err := c.Rcpt(msg.To); err != nil {
		return fmt.Errorf("error in RCPT TO %s: %w", msg.To, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("error in DATA: %w", err)
	}
	if _, err := w.Write(buildMessage(from.String(), msg)); err != nil {
		return fmt.Errorf("error writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("error finishing message: %w", err)
	}
	return c.Quit()
}

// buildMessage writes the headers and body of msg.
func buildMessage(from string, msg Message) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@ledgerline>\r\nMIME-Version: 1.0\r\n",
		from, msg.To, mime.QEncoding.Encode("utf-8", msg.Subject), time.Now().Format(time.RFC1123Z), msg.MessageID)
	textPart := func() {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		qp := quotedprintable.NewWriter(&b)
		_, _ = qp.Write([]byte(strings.ReplaceAll(msg.Text, "\n", "\r\n")))
		_ = qp.Close()
	}
	if len(msg.Attachments) == 0 {
		textPart()
		return []byte(b.String())
	}
	boundary := "ledgerline-" + strings.NewReplacer("@", "-", ".", "-").Replace(msg.MessageID)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", boundary)
	b.WriteString("--" + boundary + "\r\n")
	textPart()
	for _, a := range msg.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		name := mime.QEncoding.Encode("utf-8", a.Name)
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s; name=%q\r\nContent-Transfer-Encoding: base64\r\n"+
			"Content-Disposition: attachment; filename=%q\r\n\r\n", boundary, ct, name, name)
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String())
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
