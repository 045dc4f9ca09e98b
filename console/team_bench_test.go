package console_test

import (
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// refTable is the reference: a bare net/http handler rendering a 50-row
// table with html/template, no database, no session, no gate. The Team
// page's time is read against it, measured in the same run on the same
// machine.
var refTable = template.Must(template.New("ref").Parse(`<!doctype html><html><body><table>
{{range .}}<tr><td>{{.Name}}</td><td>{{.Email}}</td><td>{{.Role}}</td><td>{{.When}}</td></tr>{{end}}</table></body></html>`))

type refRow struct{ Name, Email, Role, When string }

// BenchmarkTeamPage measures GET /accounts/{id}/team through the real
// server (its HTTP listener, session, gate, service and database) at
// 10,000 members: the default first page, a late page (the last, reached
// by its keyset cursor), a search and a filter. Each reports ms/op and
// x_reference, the ratio to the bare 50-row handler timed with it.
//
//	go test -run XXX -bench TeamPage -benchtime 50x ./console
func BenchmarkTeamPage(b *testing.B) {
	s := newSeeded(b, 10_000)
	team := s.e.URL + "/accounts/" + s.acct + "/team"
	client := s.api.HTTP
	get := func(u string) string {
		resp, err := client.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", u, resp.StatusCode)
		}
		return string(body)
	}
	// The late page: the last, walked to once through Next.
	late, next := "", team
	nextRE := regexp.MustCompile(`<a href="([^"]+)" id="members-next"`)
	for pages := 0; next != ""; pages++ {
		late = next
		m := nextRE.FindStringSubmatch(get(next))
		next = ""
		if m != nil {
			next = s.e.URL + strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages > 250 {
			b.Fatal("the pages never end")
		}
	}
	if body := get(late); !strings.Contains(body, "9,951–10,000 of 10,000") {
		b.Fatalf("the late page is not the last: %s", regexp.MustCompile(`<p id="members-range">[^<]*`).FindString(body))
	}

	rows := make([]refRow, 50)
	for i := range rows {
		rows[i] = refRow{"Member 00042", "member00042@acme-corp.com", "Developer", "2 hours ago"}
	}
	ref := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		refTable.Execute(w, rows)
	}))
	defer ref.Close()
	refClient := &http.Client{}
	b.Logf("cores: %d", runtime.NumCPU())

	for _, tc := range []struct{ name, url string }{
		{"default", team},
		{"late_page", late},
		{"search", team + "?" + url.Values{"q": {"member09999"}}.Encode()},
		{"filter", team + "?role=developer&mfa=on"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			get(tc.url) // warm
			var page, bare time.Duration
			for b.Loop() {
				t0 := time.Now()
				get(tc.url)
				page += time.Since(t0)
				t1 := time.Now()
				resp, err := refClient.Get(ref.URL)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				bare += time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(page.Seconds()*1000/n, "ms/page")
			b.ReportMetric(bare.Seconds()*1000/n, "ms/reference")
			b.ReportMetric(float64(page)/float64(bare), "x_reference")
		})
	}
}
