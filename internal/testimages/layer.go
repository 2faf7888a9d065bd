package testimages

import (
	"archive/tar"
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is an uncompressed layer tarball on disk. go-containerregistry's
// tarball layers always gzip on the way out; this type is what lets the
// registry hold the tar as is (so Digest == DiffID), which on two cores
// saves tens of seconds per build and per push.
type fileLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }

// blobPath is where go-containerregistry's disk blob handler keeps this
// layer's blob under blobDir.
func (l *fileLayer) blobPath(blobDir string) string {
	return filepath.Join(blobDir, l.digest.Algorithm, l.digest.Hex)
}

// layerMeta is the sidecar JSON of a cached layer. It is written after the
// tarball has been renamed into place, so its presence means the tarball is
// complete.
type layerMeta struct {
	Key     string    `json:"key"`
	Digest  string    `json:"digest"` // sha256 of the uncompressed tar (digest and diff ID alike)
	Size    int64     `json:"size"`
	Parent  string    `json:"parent,omitempty"` // digest of the layer this one is a diff against
	Created time.Time `json:"created"`
	// CreatedBy goes into the image history, so `docker history` says how
	// the layer was made.
	CreatedBy    string  `json:"createdBy"`
	BuildSeconds float64 `json:"buildSeconds"`
}

func (m *layerMeta) fileLayer(dir string) (*fileLayer, error) {
	h, err := v1.NewHash(m.Digest)
	if err != nil {
		return nil, fmt.Errorf("cached layer %s: bad digest %q: %w", m.Key, m.Digest, err)
	}
	return &fileLayer{path: filepath.Join(dir, m.Key+".tar"), digest: h, size: m.Size}, nil
}

// layerCache is CacheDir/layers.
type layerCache struct{ dir string }

// lookup returns the cached layer for key, or nil if there is none or it is
// incomplete. It does not re-hash the tarball: the registry serves it by
// digest and Docker verifies the digest when pulling, so a corrupted cache
// fails loudly there rather than costing a re-hash on every run.
func (c layerCache) lookup(key string) (*layerMeta, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, key+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading cached layer metadata: %w", err)
	}
	var m layerMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil // a torn or foreign file: rebuild
	}
	fi, err := os.Stat(filepath.Join(c.dir, key+".tar"))
	if err != nil || fi.Size() != m.Size || m.Key != key {
		return nil, nil
	}
	return &m, nil
}

// create writes a layer through write into a temporary file, hashing it on
// the way, then renames it into place and records its metadata. A crash
// leaves at worst a stray temporary file, never a tarball with metadata that
// does not match it.
func (c layerCache) create(key, parent, createdBy string, write func(io.Writer) error) (*layerMeta, error) {
	start := time.Now()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating layer cache dir: %w", err)
	}
	f, err := os.CreateTemp(c.dir, key+".tar.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating layer %s: %w", key, err)
	}
	defer os.Remove(f.Name()) // no-op once renamed
	// Readable by all: the cache is shared by whoever runs the tests, and
	// CreateTemp's 0600 would lock others out of a root-built cache.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return nil, fmt.Errorf("creating layer %s: %w", key, err)
	}
	h := sha256.New()
	cw := &countWriter{}
	if err := write(io.MultiWriter(f, h, cw)); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing layer %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("syncing layer %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("closing layer %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(c.dir, key+".tar")); err != nil {
		return nil, fmt.Errorf("installing layer %s: %w", key, err)
	}
	m := &layerMeta{
		Key:          key,
		Digest:       "sha256:" + hex.EncodeToString(h.Sum(nil)),
		Size:         cw.n,
		Parent:       parent,
		Created:      time.Now().UTC().Truncate(time.Second),
		CreatedBy:    createdBy,
		BuildSeconds: time.Since(start).Seconds(),
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding layer %s metadata: %w", key, err)
	}
	if err := writeFileAtomic(filepath.Join(c.dir, key+".json"), b); err != nil {
		return nil, fmt.Errorf("recording layer %s: %w", key, err)
	}
	return m, nil
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// fileSig identifies one version of a file. Any write, chmod, chown,
// rename or replacement changes the inode's ctime (which no tool can set
// back), so comparing signatures from two walks finds everything a build
// step changed without keeping a second copy of the tree.
type fileSig struct {
	ino, nlink   uint64
	mode         uint32
	uid, gid     uint32
	size         int64
	mtime, ctime int64 // ns
}

// snapshot maps slash-separated paths relative to the tree root to their
// signatures.
type snapshot map[string]fileSig

// walkSkip reports whether the contents of the top-level directory rel are
// left out of layers: these are kernel filesystems and device nodes that the
// container runtime provides, and debootstrap may have mounted them.
func walkSkip(rel string) bool {
	switch rel {
	case "proc", "sys", "dev":
		return true
	}
	return false
}

// writeTreeLayer writes the tree at root as a layer tar to w (w may be nil
// to only take a snapshot). With base nil every entry is written; otherwise
// only entries that are new or changed since base, plus OCI whiteouts
// (".wh.<name>") for entries that are gone. Ownership is numeric and exact,
// hardlinks within the layer stay hardlinks, symlinks are not followed.
// Extended attributes are not carried: the Debian trees built here have
// none that matter (no file capabilities in minbase, gcc or musl-tools).
func writeTreeLayer(root string, w io.Writer, base snapshot) (snapshot, error) {
	rootInfo, err := os.Lstat(root)
	if err != nil {
		return nil, fmt.Errorf("tree root: %w", err)
	}
	rootDev := rootInfo.Sys().(*syscall.Stat_t).Dev

	var tw *tar.Writer
	if w != nil {
		tw = tar.NewWriter(w)
	}
	snap := snapshot{}
	links := map[uint64]string{} // inode -> first name written in this layer
	buf := make([]byte, 1<<20)

	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Dev != rootDev {
			// A leftover mount (a build step killed before unmounting):
			// archiving it could sweep the host's /proc or /dev into an
			// image.
			return fmt.Errorf("%s is a mount point inside the tree; refusing to archive it", p)
		}
		if fi.Mode().Type() == fs.ModeSocket {
			return nil // tar cannot hold sockets, and images do not need them
		}
		sig := fileSig{
			ino: st.Ino, nlink: uint64(st.Nlink), mode: st.Mode, uid: st.Uid, gid: st.Gid,
			size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
		}
		snap[rel] = sig
		skipKids := d.IsDir() && walkSkip(rel)
		if old, ok := base[rel]; tw == nil || (ok && old == sig) {
			if skipKids {
				return filepath.SkipDir
			}
			return nil
		}
		if err := writeEntry(tw, p, rel, fi, st, links, buf); err != nil {
			return fmt.Errorf("archiving %s: %w", p, err)
		}
		if skipKids {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if tw == nil {
		return snap, nil
	}
	if base != nil {
		for _, rel := range removed(base, snap) {
			hdr := &tar.Header{
				Typeflag: tar.TypeReg,
				Name:     path.Join(path.Dir(rel), ".wh."+path.Base(rel)),
				Mode:     0o600,
				ModTime:  time.Unix(0, 0),
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, fmt.Errorf("writing whiteout for %s: %w", rel, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finishing layer tar: %w", err)
	}
	return snap, nil
}

// removed lists, sorted, the paths in base that are missing from now, leaving
// out those under a removed directory: one whiteout hides a whole subtree.
func removed(base, now snapshot) []string {
	var gone []string
	for rel := range base {
		if _, ok := now[rel]; !ok {
			gone = append(gone, rel)
		}
	}
	slices.Sort(gone)
	var out []string
	for _, rel := range gone {
		if n := len(out); n > 0 && strings.HasPrefix(rel, out[n-1]+"/") {
			continue
		}
		out = append(out, rel)
	}
	return out
}

func writeEntry(tw *tar.Writer, p, rel string, fi fs.FileInfo, st *syscall.Stat_t, links map[uint64]string, buf []byte) error {
	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777), // permissions plus setuid/setgid/sticky, as tar wants them
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
	}
	switch t := fi.Mode().Type(); {
	case t == 0:
		if st.Nlink > 1 {
			if first, ok := links[st.Ino]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				return tw.WriteHeader(hdr)
			}
			links[st.Ino] = rel
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		n, err := io.CopyBuffer(tw, f, buf)
		if err != nil {
			return err
		}
		if n != st.Size {
			return fmt.Errorf("size changed while archiving (%d, then %d bytes)", st.Size, n)
		}
		return nil
	case t == fs.ModeDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case t == fs.ModeSymlink:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case t == fs.ModeNamedPipe:
		hdr.Typeflag = tar.TypeFifo
	case t&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
		if t&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		rdev := uint64(st.Rdev)
		hdr.Devmajor = int64((rdev>>8)&0xfff | (rdev>>32)&^0xfff)
		hdr.Devminor = int64(rdev&0xff | (rdev>>12)&^0xff)
	default:
		return fmt.Errorf("unsupported file type %v", t)
	}
	return tw.WriteHeader(hdr)
}

// writeGoLayer streams a golang.org/toolchain module zip into a layer tar
// that installs the toolchain at /usr/local/go. It applies the fix-ups the
// go command makes when it switches to a downloaded toolchain
// (cmd/go/internal/toolchain), since module zips cannot carry them: module
// zips have no directories (synthesized 0755) and no executable bits (see
// goFileMode), and every nested go.mod is stored as _go.mod, which is
// copied back to go.mod — without src/go.mod the standard library's
// vendored packages do not resolve.
func writeGoLayer(zipPath string, w io.Writer) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("opening toolchain zip: %w", err)
	}
	defer zr.Close()
	files := slices.Clone(zr.File)
	slices.SortFunc(files, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })

	tw := tar.NewWriter(w)
	var modTime time.Time
	for _, f := range files {
		if f.Modified.After(modTime) {
			modTime = f.Modified
		}
	}
	dirs := map[string]bool{}
	var mkdir func(dir string) error
	mkdir = func(dir string) error {
		if dir == "." || dirs[dir] {
			return nil
		}
		if err := mkdir(path.Dir(dir)); err != nil {
			return err
		}
		dirs[dir] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: modTime})
	}
	const dest = "usr/local/go"
	if err := mkdir(dest); err != nil {
		return err
	}
	seenGoMod := false
	for _, f := range files {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		// "golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64/bin/go" -> "bin/go"
		mod, rel, ok := strings.Cut(strings.TrimPrefix(f.Name, "golang.org/"), "/")
		if !ok || !strings.HasPrefix(mod, "toolchain@") {
			return fmt.Errorf("unexpected entry %q in toolchain zip", f.Name)
		}
		name := path.Join(dest, rel)
		if err := mkdir(path.Dir(name)); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("reading %s from toolchain zip: %w", f.Name, err)
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Mode:     goFileMode(rel),
			Size:     int64(f.UncompressedSize64),
			ModTime:  f.Modified,
		}
		var data []byte
		if path.Base(rel) == "_go.mod" {
			// Small: keep it to write it a second time as go.mod.
			data, err = io.ReadAll(rc)
			if err == nil && len(data) != int(hdr.Size) {
				err = fmt.Errorf("size mismatch")
			}
		}
		if err == nil {
			err = tw.WriteHeader(hdr)
		}
		if err == nil && data != nil {
			_, err = tw.Write(data)
		} else if err == nil {
			_, err = io.Copy(tw, rc)
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("copying %s from toolchain zip: %w", f.Name, err)
		}
		if data != nil {
			hdr.Name = path.Join(path.Dir(name), "go.mod")
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
			seenGoMod = seenGoMod || rel == "src/_go.mod"
		}
	}
	if !seenGoMod {
		return errors.New("toolchain zip has no src/_go.mod; its layout changed")
	}
	return tw.Close()
}

// goFileMode is the mode of a GOROOT-relative file in the installed
// toolchain: executable exactly where the go command makes downloaded
// toolchains executable (bin/*, everything under pkg/tool, and the
// lib/.../go_*_*_exec wrappers).
func goFileMode(rel string) int64 {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 2 && parts[0] == "bin":
		return 0o755
	case len(parts) >= 3 && parts[0] == "pkg" && parts[1] == "tool":
		return 0o755
	case parts[0] == "lib":
		if ok, _ := path.Match("go_?*_?*_exec", parts[len(parts)-1]); ok {
			return 0o755
		}
	}
	return 0o644
}
