package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The files of deploy/ are checked here, beside the settings they set:
// every ROSTER_ variable they give must be one serve knows, and together
// they must pass serve's own checks.

const deployDir = "../../deploy"

// serveSettings parses serve's settings from env alone (every other
// ROSTER_ variable of the test's environment unset) and fails t on a
// variable serve does not know or a value it refuses. migrate: only the
// settings of `roster migrate`.
func serveSettings(t *testing.T, env map[string]string, migrate bool) config {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "ROSTER_") {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if migrate {
		c.flags(fs)
	} else {
		c.serveFlags(fs)
	}
	known := map[string]bool{}
	for _, s := range settingsOf(fs) {
		known[s.env] = true
		if s.fileEnv != "" {
			known[s.fileEnv] = true
		}
	}
	for k, v := range env {
		if !strings.HasPrefix(k, "ROSTER_") {
			continue
		}
		if !known[k] {
			t.Errorf("%s: not a setting of roster %s", k, fs.Name())
		}
		t.Setenv(k, v)
	}
	if err := parse(fs, nil); err != nil {
		t.Errorf("serve refuses the settings %v:\n%v", env, err)
	}
	return c
}

// port returns the port of HOST:PORT, failing t when it has none.
func port(t *testing.T, hostport string) (host string, p int) {
	t.Helper()
	h, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	p, err = strconv.Atoi(ps)
	if err != nil || p == 0 {
		t.Fatalf("%q: no fixed port", hostport)
	}
	return h, p
}

// --- deploy/Dockerfile

type dockerInstr struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile reads the instructions: comments and blank lines
// dropped, lines ending in a backslash joined.
func parseDockerfile(t *testing.T, b []byte) (stages [][]dockerInstr) {
	t.Helper()
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := dockerInstr{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s before the first FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// execForm decodes an instruction's JSON array (exec form: no shell,
// which the image does not have), failing t on the shell form.
func execForm(t *testing.T, what, args string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Errorf("%s %s: not the exec form (a JSON array): the image has no shell", what, args)
	}
	return v
}

// dockerImage is what the Dockerfile's final stage says, for the
// Kubernetes test to compare with.
type dockerImage struct {
	uid, gid int
	env      map[string]string
	workdir  string
}

func readDockerfile(t *testing.T) dockerImage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, b)
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and the final one", len(stages))
	}
	// The build stage: Go of go.mod's minor version, the static build.
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	from := strings.Fields(stages[0][0].args)
	if !regexp.MustCompile(`^golang:` + regexp.QuoteMeta(string(goLine[1])) + `($|[-.])`).MatchString(from[0]) {
		t.Errorf("FROM %s: want golang:%s (go.mod's Go)", from[0], goLine[1])
	}
	built := false
	for _, in := range stages[0] {
		run := strings.ReplaceAll(in.args, "'", "")
		if in.cmd == "RUN" && strings.Contains(run, "go build") {
			built = true
			want := "go " + strings.Join(staticBuildFlags, " ")
			if !strings.Contains(run, "CGO_ENABLED=0") || !strings.Contains(run, want) || !strings.HasSuffix(run, "./cmd/roster") {
				t.Errorf("RUN %s: want CGO_ENABLED=0 %s ... ./cmd/roster (the build the static test checks)", in.args, want)
			}
		}
	}
	if !built {
		t.Error("the build stage runs no go build")
	}

	final := stages[len(stages)-1]
	if final[0].args != "scratch" {
		t.Errorf("the final stage is FROM %s, want scratch", final[0].args)
	}
	img := dockerImage{uid: -1, env: map[string]string{}}
	var (
		volumes, exposed, entry, cmd, health []string
		certs                                bool
		copied                               = map[string]string{} // destination: --chown
	)
	for _, in := range final[1:] {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			chown := ""
			for _, o := range f {
				if v, ok := strings.CutPrefix(o, "--chown="); ok {
					chown = v
				}
			}
			copied[f[len(f)-1]] = chown
			if f[len(f)-1] == "/etc/ssl/certs/ca-certificates.crt" {
				certs = true
			}
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Errorf("ENV %s: write KEY=value", in.args)
				}
				img.env[k] = v
			}
		case "USER":
			u, g, _ := strings.Cut(in.args, ":")
			uid, err1 := strconv.Atoi(u)
			gid, err2 := strconv.Atoi(g)
			if err1 != nil || err2 != nil || uid == 0 || gid == 0 {
				t.Errorf("USER %s: want a numeric non-root user and group (scratch has no /etc/passwd)", in.args)
			}
			img.uid, img.gid = uid, gid
		case "WORKDIR":
			img.workdir = in.args
		case "VOLUME":
			volumes = append(volumes, execForm(t, "VOLUME", in.args)...)
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "ENTRYPOINT":
			entry = execForm(t, "ENTRYPOINT", in.args)
		case "CMD":
			cmd = execForm(t, "CMD", in.args)
		case "HEALTHCHECK":
			_, form, ok := strings.Cut(in.args, "CMD ")
			if !ok {
				t.Errorf("HEALTHCHECK %s: no CMD", in.args)
			}
			health = execForm(t, "HEALTHCHECK CMD", form)
		case "RUN":
			t.Errorf("RUN in the final stage: scratch has no shell")
		}
	}
	if !certs {
		t.Error("no CA certificates copied to /etc/ssl/certs/ca-certificates.crt: TLS to SMTP, webhooks and identity providers would fail")
	}
	if _, ok := copied["/roster"]; !ok || !slices.Equal(entry, []string{"/roster"}) || !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("ENTRYPOINT %q CMD %q: want the binary /roster and serve", entry, cmd)
	}
	if !slices.Equal(health, []string{"/roster", "healthcheck"}) {
		t.Errorf("HEALTHCHECK CMD %q, want [\"/roster\", \"healthcheck\"]", health)
	}
	if img.uid < 0 {
		t.Error("no USER: the container would run as root")
	}
	// The SQLite file: roster.db (the default) in the working directory,
	// a volume the user owns. ROSTER_DATABASE stays unset so that
	// ROSTER_DATABASE_FILE can be used (both set are refused).
	if _, set := img.env["ROSTER_DATABASE"]; set {
		t.Error("ENV sets ROSTER_DATABASE: ROSTER_DATABASE_FILE (a mounted secret) would then be refused")
	}
	if !slices.Contains(volumes, img.workdir) {
		t.Errorf("WORKDIR %q (where roster.db is) is not a VOLUME %q", img.workdir, volumes)
	}
	if own := copied[img.workdir]; own != strconv.Itoa(img.uid)+":"+strconv.Itoa(img.gid) {
		t.Errorf("%s is copied with --chown=%s, want the USER %d:%d (the database is written there)", img.workdir, own, img.uid, img.gid)
	}
	if _, ok := copied["/tmp"]; !ok {
		t.Error("no /tmp: SQLite writes its temporary files there")
	}
	// Listeners on every address of the container, on ports it exposes.
	for _, k := range []string{"ROSTER_ADDR", "ROSTER_ADMIN_ADDR"} {
		host, p := port(t, img.env[k])
		if host != "0.0.0.0" {
			t.Errorf("%s=%s: the container's other side (port publishing, probes) cannot reach %s", k, img.env[k], host)
		}
		if !slices.Contains(exposed, strconv.Itoa(p)) {
			t.Errorf("%s=%s: port %d not in EXPOSE %v", k, img.env[k], p, exposed)
		}
	}
	c := serveSettings(t, img.env, false)
	if url, err := readyzURL(c.AdminAddr); err != nil || url != "http://127.0.0.1:"+strconv.Itoa(must(port(t, c.AdminAddr)))+"/readyz" {
		t.Errorf("roster healthcheck in the image would ask %q (%v)", url, err)
	}
	return img
}

func must(_ string, p int) int { return p }

// TestDeploy_Dockerfile checks deploy/Dockerfile without building it (its
// golang base image cannot be pulled here): a multi-stage build of the
// static binary (go.mod's Go, CGO_ENABLED=0, the flags the static test
// builds with), FROM scratch with the CA certificates, a numeric non-root
// USER that owns the SQLite volume, the health check `roster healthcheck`
// in exec form (no shell), ENTRYPOINT/CMD in exec form, the listeners on
// 0.0.0.0 on exposed ports, and settings serve accepts.
func TestDeploy_Dockerfile(t *testing.T) {
	readDockerfile(t)
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatalf("no .dockerignore: %v", err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		if l := strings.TrimSpace(line); l == ".git" || l == "/.git" || l == "**/.git" {
			t.Errorf(".dockerignore drops .git: go build could not stamp the commit (roster version)")
		}
	}
	if _, err := exec.LookPath("docker"); err == nil {
		if exec.Command("docker", "info").Run() == nil {
			t.Log("a docker daemon answers, but the image is not built: golang:1.26 cannot be pulled here")
		} else {
			t.Log("docker is installed but no daemon answers: the image is not built")
		}
	}
}

// --- deploy/roster.service

// readUnit returns a unit file's settings: section, then key, then its
// values in order (a key may be given more than once).
func readUnit(t *testing.T, b []byte) map[string]map[string][]string {
	t.Helper()
	u := map[string]map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("line %d: %q is not KEY=value in a section", i+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// TestDeploy_SystemdUnit checks deploy/roster.service: the confinement the
// operations guide promises, the SQLite file in the state directory,
// settings serve accepts; then systemd's own verify and, when it can run
// offline, its security exposure score (at most 2.0).
func TestDeploy_SystemdUnit(t *testing.T) {
	unitPath := filepath.Join(deployDir, "roster.service")
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := readUnit(t, b)["Service"]
	for k, want := range map[string]string{
		"ExecStart": "/usr/local/bin/roster serve", "DynamicUser": "yes", "StateDirectory": "roster",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "MemoryDenyWriteExecute": "yes",
		"LockPersonality": "yes", "RestrictSUIDSGID": "yes", "RestrictNamespaces": "yes",
		"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
		"SystemCallArchitectures": "native", "KillSignal": "SIGTERM",
	} {
		if v := svc[k]; len(v) != 1 || v[0] != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	if !slices.Contains(svc["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%q: want @system-service", svc["SystemCallFilter"])
	}
	if u := svc["User"]; len(u) > 0 {
		t.Errorf("User=%v beside DynamicUser", u)
	}
	env := map[string]string{}
	for _, e := range svc["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	if db := env["ROSTER_DATABASE"]; path.Dir(db) != "/var/lib/roster" {
		t.Errorf("ROSTER_DATABASE=%q: want a file in the state directory /var/lib/roster (the only place it may write)", db)
	}
	for _, k := range []string{"ROSTER_ADDR", "ROSTER_ADMIN_ADDR"} {
		if h, _ := port(t, env[k]); h != "127.0.0.1" {
			t.Errorf("%s=%s: on the host, behind a proxy, loopback only", k, env[k])
		}
	}
	serveSettings(t, env, false)

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: the unit is not verified by systemd (apt-get install systemd)")
	}
	// verify wants ExecStart's program to exist: the copy names this test's
	// binary instead of /usr/local/bin/roster, nothing else changes.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "roster.service")
	if err := os.WriteFile(copyPath, bytes.Replace(b, []byte("ExecStart=/usr/local/bin/roster"), []byte("ExecStart="+self), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("roster.service")) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", copyPath).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for roster\.service: (\d+\.\d+) (\S+)`).FindSubmatch(out)
	if err != nil && m == nil {
		t.Logf("systemd-analyze security --offline not available (%v): no score", err)
		return
	}
	if m == nil {
		t.Fatalf("systemd-analyze security: no score in\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %s %s", m[1], m[2])
	if score > 2.0 {
		t.Errorf("exposure %.1f %s, want at most 2.0:\n%s", score, m[2], out)
	}
}

// --- deploy/kubernetes

type k8sMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom any    `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts   []k8sMount `yaml:"volumeMounts"`
	StartupProbe   *k8sProbe  `yaml:"startupProbe"`
	LivenessProbe  *k8sProbe  `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe  `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type k8sPodTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		RestartPolicy                 string `yaml:"restartPolicy"`
		AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
		TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
			RunAsUser      *int  `yaml:"runAsUser"`
			RunAsGroup     *int  `yaml:"runAsGroup"`
			SeccompProfile struct {
				Type string `yaml:"type"`
			} `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
		Containers []k8sContainer `yaml:"containers"`
		Volumes    []struct {
			Name   string `yaml:"name"`
			Secret *struct {
				SecretName string `yaml:"secretName"`
				Items      []struct {
					Key  string `yaml:"key"`
					Path string `yaml:"path"`
				} `yaml:"items"`
			} `yaml:"secret"`
			EmptyDir any `yaml:"emptyDir"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

type k8sDeployment struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		Replicas int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template k8sPodTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type k8sJob struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		BackoffLimit *int           `yaml:"backoffLimit"`
		Template     k8sPodTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type k8sService struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sPDB struct {
	k8sMeta `yaml:",inline"`
	Spec    struct {
		MinAvailable *int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

type k8sSecret struct {
	k8sMeta    `yaml:",inline"`
	StringData map[string]string `yaml:"stringData"`
}

// readManifests decodes every document of deploy/kubernetes/*.yaml by kind.
func readManifests(t *testing.T) (deps []k8sDeployment, jobs []k8sJob, svcs []k8sService, pdbs []k8sPDB, secrets []k8sSecret) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var m k8sMeta
			if err := doc.Decode(&m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var into any
			switch m.APIVersion + " " + m.Kind {
			case "apps/v1 Deployment":
				deps = append(deps, k8sDeployment{})
				into = &deps[len(deps)-1]
			case "batch/v1 Job":
				jobs = append(jobs, k8sJob{})
				into = &jobs[len(jobs)-1]
			case "v1 Service":
				svcs = append(svcs, k8sService{})
				into = &svcs[len(svcs)-1]
			case "policy/v1 PodDisruptionBudget":
				pdbs = append(pdbs, k8sPDB{})
				into = &pdbs[len(pdbs)-1]
			case "v1 Secret":
				secrets = append(secrets, k8sSecret{})
				into = &secrets[len(secrets)-1]
			default:
				t.Fatalf("%s: unexpected %s %s", f, m.APIVersion, m.Kind)
			}
			if err := doc.Decode(into); err != nil {
				t.Fatalf("%s: %s: %v", f, m.Kind, err)
			}
		}
	}
	if len(deps) != 1 || len(jobs) != 1 || len(svcs) != 1 || len(secrets) != 1 || len(pdbs) != 1 {
		t.Fatalf("%d deployments, %d jobs, %d services, %d disruption budgets, %d secrets: want one each", len(deps), len(jobs), len(svcs), len(pdbs), len(secrets))
	}
	return deps, jobs, svcs, pdbs, secrets
}

// lockedDown fails t unless the pod runs as the image's non-root user
// with a read-only root, no privilege escalation, every capability
// dropped, the runtime's seccomp profile, no service account token, and
// declared resources; it returns its one container and the settings its
// environment gives, each _FILE variable pointing at a copy (in a
// temporary directory) of the secret's key mounted there.
func lockedDown(t *testing.T, what string, pod k8sPodTemplate, img dockerImage, secret k8sSecret) (k8sContainer, map[string]string) {
	t.Helper()
	ps := pod.Spec
	if ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", what)
	}
	if u := ps.SecurityContext.RunAsUser; u == nil || *u != img.uid || ps.SecurityContext.RunAsGroup == nil || *ps.SecurityContext.RunAsGroup != img.gid {
		t.Errorf("%s: runAsUser/runAsGroup are not the image's USER %d:%d", what, img.uid, img.gid)
	}
	if ps.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("%s: seccompProfile %q, want RuntimeDefault", what, ps.SecurityContext.SeccompProfile.Type)
	}
	if a := ps.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("%s: the service account token is mounted (roster never calls the Kubernetes API)", what)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(ps.Containers))
	}
	c := ps.Containers[0]
	sc := c.SecurityContext
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", what)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", what)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: container runAsNonRoot is not true", what)
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities drop %v add %v, want drop [ALL] and nothing added", what, sc.Capabilities.Drop, sc.Capabilities.Add)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("%s: resources %+v: want cpu and memory requests and a memory limit", what, c.Resources)
	}
	if c.Image == "" {
		t.Errorf("%s: no image", what)
	}

	mounts := map[string]string{} // volume name: mount path
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	files := map[string]string{} // path in the container: the secret's key there
	for _, v := range ps.Volumes {
		if v.Secret == nil {
			continue
		}
		if v.Secret.SecretName != secret.Metadata.Name {
			t.Errorf("%s: volume %s mounts the secret %q, not %q", what, v.Name, v.Secret.SecretName, secret.Metadata.Name)
		}
		dir, ok := mounts[v.Name]
		if !ok {
			continue
		}
		if len(v.Secret.Items) == 0 {
			for k := range secret.StringData {
				files[path.Join(dir, k)] = k
			}
		}
		for _, it := range v.Secret.Items {
			files[path.Join(dir, it.Path)] = it.Key
		}
	}
	tmp := t.TempDir()
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s: %s from valueFrom: secrets are mounted files (%s_FILE)", what, e.Name, e.Name)
			continue
		}
		env[e.Name] = e.Value
		if !strings.HasSuffix(e.Name, "_FILE") {
			continue
		}
		key, ok := files[e.Value]
		if !ok {
			t.Errorf("%s: %s=%s is no key of the secret %q mounted in the container", what, e.Name, e.Value, secret.Metadata.Name)
			continue
		}
		local := filepath.Join(tmp, key)
		if err := os.WriteFile(local, []byte(secret.StringData[key]), 0o600); err != nil {
			t.Fatal(err)
		}
		env[e.Name] = local
	}
	if v, ok := env["ROSTER_DATABASE"]; ok {
		t.Errorf("%s: ROSTER_DATABASE=%q in the manifest: the PostgreSQL URL carries a password, give ROSTER_DATABASE_FILE", what, v)
	}
	return c, env
}

// TestDeploy_Kubernetes checks deploy/kubernetes/: two replicas of serve
// with liveness (/livez) and readiness (/readyz) on the admin port, the
// admin port that serve's ROSTER_ADMIN_ADDR names and the Service does not
// publish, the PostgreSQL URL and tokens from the Secret as files, the pod
// locked down (non-root as the image's user, read-only root, no
// capabilities), a Service and a disruption budget that select the pods,
// and a migration Job running `roster migrate` with the same secret; the
// settings of each, with the example secret's values, pass serve's (and
// migrate's) checks.
func TestDeploy_Kubernetes(t *testing.T) {
	img := readDockerfile(t)
	deps, jobs, svcs, pdbs, secrets := readManifests(t)
	dep, job, svc, pdb, secret := deps[0], jobs[0], svcs[0], pdbs[0], secrets[0]

	if checkDatabase(new(string))(secret.StringData["database-url"]) != nil || !strings.HasPrefix(secret.StringData["database-url"], "postgres://") {
		t.Errorf("the secret's database-url %q is not a postgres:// URL serve takes", secret.StringData["database-url"])
	}

	// The Deployment.
	if dep.Spec.Replicas != 2 {
		t.Errorf("replicas: %d, want 2", dep.Spec.Replicas)
	}
	labels := dep.Spec.Template.Metadata.Labels
	subset := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !subset(dep.Spec.Selector.MatchLabels) {
		t.Errorf("the selector %v does not select the pods %v", dep.Spec.Selector.MatchLabels, labels)
	}
	c, env := lockedDown(t, "deployment", dep.Spec.Template, img, secret)
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("deployment args %q, want [serve]", c.Args)
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m k8sMount) bool { return m.MountPath == "/tmp" }) {
		t.Error("no volume on /tmp under a read-only root")
	}
	for k, name := range map[string]string{"ROSTER_ADDR": "http", "ROSTER_ADMIN_ADDR": "admin"} {
		v, ok := env[k]
		if !ok {
			v = img.env[k]
		}
		if h, p := port(t, v); h != "0.0.0.0" || ports[name] != p {
			t.Errorf("%s=%s, but the container port %q is %d (and the kubelet probes the pod's address)", k, v, name, ports[name])
		}
	}
	for _, pr := range []struct {
		name  string
		probe *k8sProbe
		path  string
	}{{"liveness", c.LivenessProbe, "/livez"}, {"readiness", c.ReadinessProbe, "/readyz"}, {"startup", c.StartupProbe, "/livez"}} {
		if pr.probe == nil || pr.probe.HTTPGet == nil || pr.probe.HTTPGet.Path != pr.path || pr.probe.HTTPGet.Port != "admin" {
			t.Errorf("%s probe: want GET %s on the admin port", pr.name, pr.path)
		}
	}
	cfg := serveSettings(t, env, false)
	if !strings.HasPrefix(cfg.Database, "postgres://") || cfg.ServiceToken == "" || cfg.OperatorToken == "" {
		t.Errorf("serve would run on %q (tokens set: %v %v), want the secret's PostgreSQL and tokens", redactURL(cfg.Database), cfg.ServiceToken != "", cfg.OperatorToken != "")
	}

	// The Service and the disruption budget.
	if !subset(svc.Spec.Selector) || !subset(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("the Service %v or the budget %v does not select the pods %v", svc.Spec.Selector, pdb.Spec.Selector.MatchLabels, labels)
	}
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable < 1 || *pdb.Spec.MinAvailable >= dep.Spec.Replicas {
		t.Errorf("the budget's minAvailable: want 1 of the %d replicas", dep.Spec.Replicas)
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort]; !ok || p.TargetPort == "admin" {
			t.Errorf("the Service's port %s targets %q: want the container's http port, never admin", p.Name, p.TargetPort)
		}
	}

	// The migration Job.
	jc, jenv := lockedDown(t, "job", job.Spec.Template, img, secret)
	if !slices.Equal(jc.Args, []string{"migrate"}) {
		t.Errorf("job args %q, want [migrate]", jc.Args)
	}
	if jc.Image != c.Image {
		t.Errorf("job image %q, deployment %q: migrate with the version that serves", jc.Image, c.Image)
	}
	if rp := job.Spec.Template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
		t.Errorf("job restartPolicy %q", rp)
	}
	mc := serveSettings(t, jenv, true)
	if mc.Database != cfg.Database {
		t.Errorf("the job migrates %q, the deployment serves %q", redactURL(mc.Database), redactURL(cfg.Database))
	}
}
