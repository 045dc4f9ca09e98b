// Command bodyflood posts large multipart bodies to the console's public forms from
// -c connections for -d, and prints how many answers of each status came.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

const boundary = "flood-boundary"

type body struct {
	head, tail string
	left       int64
	off, stage int
}

func newBody(size int64) *body {
	return &body{head: "--" + boundary + "\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nolga@acme-corp.com\r\n--" + boundary +
		"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\n", tail: "\r\n--" + boundary + "--\r\n", left: size}
}

func (m *body) Len() int64 { return int64(len(m.head)+len(m.tail)) + m.left }

func (m *body) Read(p []byte) (int, error) {
	switch m.stage {
	case 0:
		n := copy(p, m.head[m.off:])
		if m.off += n; m.off == len(m.head) {
			m.stage, m.off = 1, 0
		}
		return n, nil
	case 1:
		n := min(int64(len(p)), m.left)
		for i := range p[:n] {
			p[i] = 'a'
		}
		if m.left -= n; m.left == 0 {
			m.stage = 2
		}
		return int(n), nil
	case 2:
		n := copy(p, m.tail[m.off:])
		if m.off += n; m.off == len(m.tail) {
			m.stage = 3
		}
		return n, nil
	}
	return 0, io.EOF
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "")
	conns := flag.Int("c", 8, "connections")
	dur := flag.Duration("d", 20*time.Second, "")
	size := flag.Int64("size", 48<<20, "file bytes per body")
	flag.Parse()
	paths := []string{"/login", "/signup", "/forgot-password"}
	end := time.Now().Add(*dur)
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 2 * time.Minute}
			for i := w; time.Now().Before(end); i++ {
				b := newBody(*size)
				req, _ := http.NewRequest("POST", *base+paths[i%len(paths)], b)
				req.ContentLength = b.Len()
				req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
				resp, err := c.Do(req)
				k := "error"
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					k = fmt.Sprint(resp.StatusCode)
				}
				mu.Lock()
				got[k]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%s:%d ", k, got[k])
	}
	fmt.Println()
}
