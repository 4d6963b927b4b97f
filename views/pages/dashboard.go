package pages

import (
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// Dashboard is the home page's figures for the signed-in member, by what their role may see. A nil part
// is not shown.
type Dashboard struct {
	LowStock   *Figure
	StockValue *Trend
	Activity   *Activity
	// Panels are further cards from other modules (billing: receivables by currency and aging, revenue by
	// month; approvals: waiting for me, my open requests), in order. See handlers/home.go.
	Panels []Panel
}

// Figure is one number with a link to the list behind it.
type Figure struct {
	Title, Value, Hint, Href, LinkLabel string
	Warn                                bool
}

// Trend is a daily series with its current value, drawn as a line chart with its numbers in a table.
type Trend struct {
	Title, Current, Unit, Empty string
	Points                      []TrendPoint
}

// TrendPoint is one day of a Trend: its label and value as shown, and the number charted.
type TrendPoint struct {
	Day, Value string
	Y          float64
}

// Activity is the latest audit events: the organization's for those who may read the log, else the
// member's own.
type Activity struct {
	Title, Href string
	Rows        []ActivityRow
}

// ActivityRow is one event.
type ActivityRow struct {
	When, WhenExact, Who, Action, Href string
}

// Panel is a card another module adds to the dashboard.
type Panel struct {
	ID, Title string
	Body      templ.Component
}

// chart geometry: the plot area inside the SVG's view box.
const (
	chartW, chartH                           = 640.0, 220.0
	plotLeft, plotRight, plotTop, plotBottom = 84.0, 624.0, 16.0, 188.0
)

func (t Trend) bounds() (lo, hi float64) {
	for i, p := range t.Points {
		if i == 0 || p.Y < lo {
			lo = p.Y
		}
		if i == 0 || p.Y > hi {
			hi = p.Y
		}
	}
	if lo > 0 {
		lo = 0 // values are charted from zero, so a small change does not look like a crash
	}
	if hi == lo {
		hi = lo + 1
	}
	return lo, hi
}

func (t Trend) x(i int) float64 {
	if len(t.Points) < 2 {
		return (plotLeft + plotRight) / 2
	}
	return plotLeft + (plotRight-plotLeft)*float64(i)/float64(len(t.Points)-1)
}

func (t Trend) y(v float64) float64 {
	lo, hi := t.bounds()
	return plotBottom - (plotBottom-plotTop)*(v-lo)/(hi-lo)
}

func ff(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// polyline is the line's points attribute.
func (t Trend) polyline() string {
	var b strings.Builder
	for i, p := range t.Points {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ff(t.x(i)) + "," + ff(t.y(p.Y)))
	}
	return b.String()
}

// axisLabels are the y axis's bottom and top values as shown.
func (t Trend) axisLabels() (lo, hi string) {
	l, h := t.bounds()
	return compact(l), compact(h)
}

// compact writes a large number short: 1.2M, 45.3k, 812.
func compact(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 1, 64) + "B"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func (t Trend) desc() string {
	if len(t.Points) == 0 {
		return ""
	}
	return t.Title + " from " + t.Points[0].Day + " (" + t.Points[0].Value + ") to " + t.Points[len(t.Points)-1].Day +
		" (" + t.Points[len(t.Points)-1].Value + "), " + strconv.Itoa(len(t.Points)) + " days."
}
