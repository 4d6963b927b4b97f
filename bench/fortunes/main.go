// Command fortunes is the benchmark floor: the TechEmpower "Fortunes" test with Echo and pgx on the same
// PostgreSQL as the app. Each request fetches the 12 rows of a small table, adds one, sorts them by message
// and renders an escaped HTML table. It has no session, no CSRF, no row-level security and no templates
// beyond one fixed layout: what a page of this machine costs with nothing but the essentials, so the app's
// screens can be reported as a ratio of it. It is not part of the app.
//
// Usage: fortunes -addr 127.0.0.1:0 -db postgres://... [-setup postgres://owner...]
// With -setup it first creates the schema bench_floor and its fortune table (idempotently) as that role.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"html"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
)

// The TechEmpower fortunes, including the ones that test escaping and UTF-8.
var fortunes = []string{
	"fortune: No such file or directory",
	"A computer scientist is someone who fixes things that aren't broken.",
	"After enough decimal places, nobody gives a damn.",
	"A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
	"A computer program does what you tell it to do, not what you want it to do.",
	"Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
	"Any program that runs right is obsolete.",
	"A list is only as strong as its weakest link. — Donald Knuth",
	"Feature: A bug with seniority.",
	"Computers make very fast, very accurate mistakes.",
	`<script>alert("This should not be displayed in a browser alert box.");</script>`,
	"フレームワークのベンチマーク",
}

type fortune struct {
	id      int32
	message string
}

func setup(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bench_floor;
		CREATE TABLE IF NOT EXISTS bench_floor.fortune (id integer PRIMARY KEY, message text NOT NULL);
		GRANT USAGE ON SCHEMA bench_floor TO PUBLIC;
		GRANT SELECT ON bench_floor.fortune TO PUBLIC`); err != nil {
		return err
	}
	for i, m := range fortunes {
		if _, err := conn.Exec(ctx, `INSERT INTO bench_floor.fortune (id, message) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET message = EXCLUDED.message`, i+1, m); err != nil {
			return err
		}
	}
	return nil
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address (port 0: a free port, printed on stdout)")
	dbURL := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL URL")
	setupURL := flag.String("setup", "", "PostgreSQL URL of a role that may create the fortune table")
	maxConns := flag.Int("conns", 16, "pool size")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *setupURL != "" {
		if err := setup(ctx, *setupURL); err != nil {
			log.Fatalf("fortunes: setup: %v", err)
		}
	}
	cfg, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		log.Fatalf("fortunes: %v", err)
	}
	cfg.MaxConns = int32(*maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatalf("fortunes: %v", err)
	}
	defer pool.Close()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/fortunes", func(c echo.Context) error {
		rows, err := pool.Query(c.Request().Context(), `SELECT id, message FROM bench_floor.fortune`)
		if err != nil {
			return err
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fortune, error) {
			var f fortune
			err := r.Scan(&f.id, &f.message)
			return f, err
		})
		if err != nil {
			return err
		}
		list = append(list, fortune{0, "Additional fortune added at request time."})
		slices.SortFunc(list, func(a, b fortune) int { return strings.Compare(a.message, b.message) })
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufs.Put(buf)
		buf.WriteString(`<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>`)
		for _, f := range list {
			buf.WriteString("<tr><td>")
			buf.WriteString(strconv.Itoa(int(f.id)))
			buf.WriteString("</td><td>")
			buf.WriteString(html.EscapeString(f.message))
			buf.WriteString("</td></tr>")
		}
		buf.WriteString("</table></body></html>")
		return c.HTMLBlob(http.StatusOK, buf.Bytes())
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("fortunes: %v", err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatalf("fortunes: %v", err)
	}
}
