// Package meter rewrites a WebAssembly module so that it pays for what it
// runs. Every straight-line segment of code subtracts its instruction count
// from an injected mutable i64 global, exported as arena_fuel; bulk memory
// and table operations and memory.grow subtract in proportion to their
// size. Function entries, loop headers and bulk operations check the
// counter and trap with unreachable once it is below a second injected
// global, arena_fuel_floor (0 unless the host raises it), which bounds
// every loop and every recursion. The guest only reads the floor, so a host
// can stop a running guest by raising it from another thread; a write to
// the counter itself would be lost to the guest's own updates. The count is
// exact and the same on every machine: it depends only on the module and
// its inputs.
//
// A counted loop, whose number of passes follows from values known at its
// entry and which nothing inside can change or cut short, pays for all its
// passes on entry with one check instead of checking at every pass (see
// counted.go): the same fuel for every run that ends.
//
// Loops that make calls check against a third global, arena_fuel_mark,
// instead, and below it yield to the runtime (see checkAndYield) and move
// the mark YieldEvery fuel on, never below the floor: they trap at the
// same check as the others, and a host stops them by raising the mark
// with the floor. A mark of 0 means no yields.
//
// Within a function the counter lives in a local (a register); it is
// written back to the global before calls, returns, branches out of the
// function and deliberate traps, which is wherever anyone else can read it.
// After any other trap (an out-of-bounds access, say) the global holds the
// count as of the last write-back: still the same on every run.
//
// The module's start function, if any, becomes the export arena_start, so
// the host can set the budget before any guest code runs.
//
// Meter expects a module a WebAssembly 2.0 validator has accepted; it
// refuses instructions beyond that set, and any index that would reach
// what it injects.
package meter

import (
	"bytes"
	"fmt"
)

// Version changes whenever the pass changes what a module pays: caches of
// metered modules key on it, and stored fuel counts depend on it.
const Version = 7

// Names the pass adds. A module that already exports either is refused.
const (
	FuelGlobal  = "arena_fuel"
	FloorGlobal = "arena_fuel_floor"
	MarkGlobal  = "arena_fuel_mark"
	StartExport = "arena_start"
)

// YieldEvery is how much fuel a guest spends between yields to the Go
// runtime (see checkAndYield).
const YieldEvery = 1 << 20

// Costs of bulk operations.
const (
	// BytesPerFuel: memory.copy, memory.fill and memory.init cost 1 fuel
	// per 8 bytes (plus 1 for the instruction).
	bytesShift = 3
	// memory.grow costs what filling the new pages would: 8192 per page.
	pageShift = 16 - bytesShift
)

// Error says why a module cannot be metered.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func errorf(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Limits are the declared limits of a memory or table; Max < 0 means none.
type Limits struct {
	Min      uint32 `json:"min"`
	Max      int64  `json:"max"`
	Imported bool   `json:"imported,omitempty"`
}

// Import is one import.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Kind   string `json:"kind"` // func, table, memory, global
}

// Export is one export.
type Export struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Info describes a module, as the pass saw it.
type Info struct {
	Size        int      `json:"size"`
	Imports     []Import `json:"imports"`
	Exports     []Export `json:"exports"`
	Memories    []Limits `json:"memories"`
	Tables      []Limits `json:"tables"`
	Functions   int      `json:"functions"` // defined, not imported
	HasStart    bool     `json:"has_start"`
	GrowsTables bool     `json:"grows_tables"` // uses table.grow
	Loops       int      `json:"loops"`
	// CountedLoops are the loops that pay for all their passes on entry
	// (see counted.go) instead of checking at every pass.
	CountedLoops int `json:"counted_loops"`
}

var kindNames = [...]string{"func", "table", "memory", "global"}

type section struct {
	id      byte
	payload []byte
}

// module is what the pass needs to know while rewriting.
type module struct {
	info          Info
	sections      []section
	typeParams    []uint32 // parameter count per type
	yieldFunc     int64    // index of the injected yield function, or -1
	funcTypes     []uint32 // type index per defined function
	importedFuncs uint32
	globals       uint32 // imported + defined
	start         int64  // start function index, or -1
	opts          Options

	// reused across function bodies
	code []decoded
	body []byte
}

// MaxLocals bounds the locals of one function, as browsers do.
const MaxLocals = 50_000

const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// order ranks sections as the binary format requires them to appear.
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

var magic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Inspect describes a module without keeping the metered copy.
func Inspect(wasm []byte) (Info, error) {
	_, info, err := Meter(wasm)
	return info, err
}

// Options change how Meter charges. The zero value is what Arena runs.
type Options struct {
	// CheckEveryPass turns off the charge on entry for counted loops (see
	// counted.go): every loop then checks at every pass through its header.
	// The fuel of a run that ends is the same either way; only the speed
	// differs, which is what it is for (benchmarks and tests).
	CheckEveryPass bool
}

// Meter returns the metered module and a description of the original.
func Meter(wasm []byte) ([]byte, Info, error) {
	return MeterWith(wasm, Options{})
}

// MeterWith is Meter with options.
func MeterWith(wasm []byte, opts Options) ([]byte, Info, error) {
	m := &module{start: -1, opts: opts}
	m.info.Size = len(wasm)
	if len(wasm) < len(magic) || !bytes.Equal(wasm[:8], magic) {
		return nil, m.info, errorf("not a WebAssembly 1.0 binary")
	}
	r := &reader{b: wasm, off: 8}
	for !r.done() {
		id := r.byte()
		payload := r.bytes(int(r.u32()))
		if r.err != nil {
			break
		}
		m.sections = append(m.sections, section{id: id, payload: payload})
	}
	if r.err != nil {
		return nil, m.info, errorf("malformed module: %v", r.err)
	}
	for _, s := range m.sections {
		if err := m.read(s); err != nil {
			return nil, m.info, err
		}
	}
	out, err := m.rewrite()
	return out, m.info, err
}

// read gathers what the rewrite needs from one section.
func (m *module) read(s section) error {
	r := &reader{b: s.payload}
	switch s.id {
	case secType:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			if form := r.byte(); form != 0x60 && r.err == nil {
				return errorf("unsupported type form %#x", form)
			}
			params := r.u32()
			r.bytes(int(params))
			r.bytes(int(r.u32()))
			m.typeParams = append(m.typeParams, params)
		}
	case secImport:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			imp := Import{Module: r.name(), Name: r.name()}
			kind := r.byte()
			switch kind {
			case 0x00:
				r.u32()
				m.importedFuncs++
			case 0x01:
				r.byte()
				min, max := r.limits()
				m.info.Tables = append(m.info.Tables, Limits{Min: min, Max: max, Imported: true})
			case 0x02:
				min, max := r.limits()
				m.info.Memories = append(m.info.Memories, Limits{Min: min, Max: max, Imported: true})
			case 0x03:
				r.byte()
				r.byte()
				m.globals++
			default:
				return errorf("unsupported import kind %#x for %s.%s", kind, imp.Module, imp.Name)
			}
			if r.err == nil {
				imp.Kind = kindNames[kind]
				m.info.Imports = append(m.info.Imports, imp)
			}
		}
	case secFunction:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			t := r.u32()
			if int(t) >= len(m.typeParams) && r.err == nil {
				return errorf("function uses type %d, which does not exist", t)
			}
			m.funcTypes = append(m.funcTypes, t)
		}
		m.info.Functions = len(m.funcTypes)
	case secTable:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.byte()
			min, max := r.limits()
			m.info.Tables = append(m.info.Tables, Limits{Min: min, Max: max})
		}
	case secMemory:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			min, max := r.limits()
			m.info.Memories = append(m.info.Memories, Limits{Min: min, Max: max})
		}
	case secGlobal:
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			r.byte() // value type
			r.byte() // mutability
			constExpr(r)
		}
		m.globals += n
	case secElement:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			elementSegment(r)
		}
	case secData:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			switch flags := r.u32(); flags {
			case 0:
				constExpr(r)
			case 1:
			case 2:
				r.u32()
				constExpr(r)
			default:
				return errorf("unsupported data segment flags %d", flags)
			}
			r.bytes(int(r.u32()))
		}
	case secDataCount:
		r.u32()
	case secCustom:
		if r.name() == "name" {
			nameSection(r)
		}
		r.off = len(r.b) // the rest is opaque
	case secCode:
		r.off = len(r.b) // read while rewriting
	default:
		return errorf("unsupported section id %d", s.id)
	case secExport:
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			name := r.name()
			kind := r.byte()
			r.u32()
			if r.err != nil {
				break
			}
			if name == FuelGlobal || name == FloorGlobal || name == MarkGlobal || name == StartExport {
				return errorf("export name %q is reserved for Arena's fuel metering", name)
			}
			if int(kind) >= len(kindNames) {
				return errorf("unsupported export kind %#x for %q", kind, name)
			}
			m.info.Exports = append(m.info.Exports, Export{Name: name, Kind: kindNames[kind]})
		}
	case secStart:
		m.start = int64(r.u32())
		m.info.HasStart = true
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail(fmt.Errorf("%d bytes left over", len(r.b)-r.off))
	}
	if r.err != nil {
		return errorf("malformed section %d: %v", s.id, r.err)
	}
	return nil
}

// constExpr skips a constant expression, through its end.
func constExpr(r *reader) {
	for r.err == nil {
		if r.off < len(r.b) && r.b[r.off] == 0x0B {
			r.off++
			return
		}
		decode(r)
	}
}

// elementSegment skips one element segment in any of its eight forms.
func elementSegment(r *reader) {
	flags := r.u32()
	if flags > 7 {
		r.fail(fmt.Errorf("unsupported element segment flags %d", flags))
		return
	}
	if flags&2 != 0 && flags&1 == 0 { // explicit table index
		r.u32()
	}
	if flags&1 == 0 { // active: an offset expression
		constExpr(r)
	}
	if flags&3 != 0 { // element kind or reference type
		r.byte()
	}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		if flags&4 != 0 {
			constExpr(r)
		} else {
			r.u32()
		}
	}
}

// nameSection checks the framing of the "name" custom section, whose
// counts a decoder might otherwise trust.
func nameSection(r *reader) {
	for !r.done() {
		id := r.byte()
		sub := &reader{b: r.bytes(int(r.u32()))}
		if r.err != nil {
			return
		}
		switch id {
		case 1: // function names: vec(index name)
			for n := sub.u32(); n > 0 && sub.err == nil; n-- {
				sub.u32()
				sub.name()
			}
		case 2: // local names: vec(index vec(index name))
			for n := sub.u32(); n > 0 && sub.err == nil; n-- {
				sub.u32()
				for k := sub.u32(); k > 0 && sub.err == nil; k-- {
					sub.u32()
					sub.name()
				}
			}
		}
		if sub.err != nil {
			r.fail(fmt.Errorf("name section: %v", sub.err))
		}
	}
}

// rewrite assembles the metered module.
func (m *module) rewrite() ([]byte, error) {
	fuel := m.globals // the injected global's index: after every existing one
	out := append(make([]byte, 0, m.info.Size*5/4+64), magic...)
	emit := func(id byte, payload []byte) {
		out = append(out, id)
		out = appendULEB(out, uint64(len(payload)))
		out = append(out, payload...)
	}
	// Three globals: the counter, the floor and the mark, all mut i64 =
	// i64.const 0.
	fuelGlobals := []byte{0x7E, 0x01, 0x42, 0x00, 0x0B, 0x7E, 0x01, 0x42, 0x00, 0x0B, 0x7E, 0x01, 0x42, 0x00, 0x0B}
	exports := appendExport(nil, FuelGlobal, 0x03, uint64(fuel))
	exports = appendExport(exports, FloorGlobal, 0x03, uint64(fuel)+1)
	exports = appendExport(exports, MarkGlobal, 0x03, uint64(fuel)+2)
	nExports := 3
	// The yield function goes last in the type, function and code
	// sections, so no index the module uses changes.
	yields := len(m.info.Memories) > 0 && len(m.funcTypes) > 0
	m.yieldFunc = -1
	if yields {
		m.yieldFunc = int64(m.importedFuncs) + int64(len(m.funcTypes))
	}
	if m.start >= 0 {
		exports = appendExport(exports, StartExport, 0x00, uint64(m.start))
		nExports++
	}
	wroteGlobal, wroteExport := false, false
	// insertMissing adds the global and export sections before the first
	// section that must come after them, when the module has none.
	insertMissing := func(beforeRank int) {
		if !wroteGlobal && beforeRank > order[secGlobal] {
			emit(secGlobal, append(appendULEB(nil, 3), fuelGlobals...))
			wroteGlobal = true
		}
		if !wroteExport && beforeRank > order[secExport] {
			emit(secExport, append(appendULEB(nil, uint64(nExports)), exports...))
			wroteExport = true
		}
	}
	for _, s := range m.sections {
		if s.id != secCustom {
			insertMissing(order[s.id])
		}
		switch s.id {
		case secGlobal:
			r := &reader{b: s.payload}
			n := r.u32()
			emit(secGlobal, append(append(appendULEB(nil, uint64(n)+3), s.payload[r.off:]...), fuelGlobals...))
			wroteGlobal = true
		case secExport:
			r := &reader{b: s.payload}
			n := r.u32()
			emit(secExport, append(append(appendULEB(nil, uint64(n)+uint64(nExports)), s.payload[r.off:]...), exports...))
			wroteExport = true
		case secType, secFunction:
			if !yields {
				emit(s.id, s.payload)
				break
			}
			r := &reader{b: s.payload}
			n := r.u32()
			extra := []byte{0x60, 0x00, 0x00} // the yield function's type: [] -> []
			if s.id == secFunction {
				extra = appendULEB(nil, uint64(len(m.typeParams)))
			}
			emit(s.id, append(append(appendULEB(nil, uint64(n)+1), s.payload[r.off:]...), extra...))
		case secStart:
			// dropped: the host calls arena_start after setting the budget
		case secCode:
			code, err := m.meterCode(s.payload, fuel)
			if err != nil {
				return nil, err
			}
			emit(secCode, code)
		default:
			emit(s.id, s.payload)
		}
	}
	insertMissing(len(order) + 1)
	return out, nil
}

func appendExport(b []byte, name string, kind byte, index uint64) []byte {
	b = appendULEB(b, uint64(len(name)))
	b = append(b, name...)
	b = append(b, kind)
	return appendULEB(b, index)
}

func (m *module) meterCode(payload []byte, fuel uint32) ([]byte, error) {
	r := &reader{b: payload}
	n := r.u32()
	if int(n) != len(m.funcTypes) && r.err == nil {
		return nil, errorf("code section has %d bodies for %d functions", n, len(m.funcTypes))
	}
	bodies := uint64(n)
	if m.yieldFunc >= 0 {
		bodies++
	}
	out := appendULEB(make([]byte, 0, len(payload)*5/4), bodies)
	for i := uint32(0); i < n && r.err == nil; i++ {
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			break
		}
		metered, err := m.meterBody(i, body, fuel)
		if err != nil {
			return nil, errorf("function %d: %v", m.importedFuncs+i, err)
		}
		out = appendULEB(out, uint64(len(metered)))
		out = append(out, metered...)
		m.body = metered[:0]
	}
	if r.err != nil {
		return nil, errorf("malformed code section: %v", r.err)
	}
	if m.yieldFunc >= 0 {
		// No locals; memory.grow 0 and drop it: a trip to the runtime's Go
		// side that changes nothing (see checkAndYield).
		out = append(out, 7, 0x00, 0x41, 0x00, 0x40, 0x00, 0x1A, 0x0B)
	}
	return out, nil
}

type decoded struct {
	start, end int
	instr
}

// meterBody rewrites one function body.
func (m *module) meterBody(index uint32, body []byte, fuel uint32) ([]byte, error) {
	r := &reader{b: body}
	decls := r.u32()
	locals := uint64(m.typeParams[m.funcTypes[index]])
	for i := uint32(0); i < decls && r.err == nil; i++ {
		locals += uint64(r.u32())
		r.byte()
		if locals > MaxLocals {
			return nil, fmt.Errorf("more than %d locals", MaxLocals)
		}
	}
	declsStart := len(appendULEB(nil, uint64(decls)))
	localsEnd := r.off
	code := m.code[:0]
	defer func() { m.code = code[:0] }()
	for !r.done() {
		start := r.off
		in := decode(r)
		if r.err != nil {
			break
		}
		if in.global >= int64(m.globals) {
			return nil, fmt.Errorf("global index %d out of range", in.global)
		}
		if in.local >= int64(locals) {
			return nil, fmt.Errorf("local index %d out of range", in.local)
		}
		m.info.GrowsTables = m.info.GrowsTables || in.growsTable
		code = append(code, decoded{start: start, end: r.off, instr: in})
	}
	if r.err != nil {
		return nil, r.err
	}

	// Two new locals: the counter's working copy, kept in a register
	// within the function, and a scratch i32 for bulk operation sizes.
	counter := uint32(locals)
	scratch := counter + 1
	out := m.body[:0]
	out = appendULEB(out, uint64(decls)+2)
	out = append(out, body[declsStart:localsEnd]...)
	out = append(out, 0x01, 0x7E, 0x01, 0x7F)
	f := fuelVars{global: fuel, local: counter, scratch: scratch, yield: m.yieldFunc}

	// A segment starts at the entry, at loop headers, and after every
	// instruction that ends the straight line (br, br_table, return,
	// unreachable), calls, or may be followed by a branch target (if, else,
	// end). Its cost is its instruction count, paid on entry; a br_if inside
	// it that is taken leaves having paid for the whole segment. Structural
	// instructions are free (see segmentCost), so a segment may cost 0 and
	// then pays nothing, unless it must check.
	//
	// The working copy is written back to the global wherever anything else
	// can see it: before calls (and reloaded after), before the function
	// returns or branches out of itself, and before it traps on purpose.
	//
	// A counted loop (see counted.go) pays for all its passes before its
	// loop instruction, and its header pays nothing.
	yields := loopsWithCalls(code)
	var counted map[int]countedLoop
	for k, c := range code {
		if c.op != 0x03 {
			continue
		}
		m.info.Loops++
		if !m.opts.CheckEveryPass {
			if l, ok := countLoop(code, body, k); ok {
				m.info.CountedLoops++
				if counted == nil {
					counted = map[int]countedLoop{}
				}
				counted[k] = l
			}
		}
	}
	out = f.load(out)
	depth := int64(0) // enclosing blocks; a branch to label depth leaves the function
	for i := 0; i < len(code); {
		j := segmentEnd(code, i)
		if i > 0 && isCall(code[i-1].op) {
			out = f.load(out)
		}
		_, prepaid := counted[i-1]
		checked := i == 0 || code[i-1].class == loopHeader
		if cost := segmentCost(code[i:j]); (cost > 0 || checked) && !prepaid {
			out = f.charge(out, cost, checked, i > 0 && yields[i-1])
		}
		// Copy the segment in as few runs as possible, interrupted only by
		// bulk charges, write-backs and counted loops' charges.
		from := code[i].start
		for k, c := range code[i:j] {
			leaves := isCall(c.op) || c.op == 0x0F || c.op == 0x00 || // call, return, unreachable
				(c.op == 0x0B && depth == 0) || // the function's end
				(c.label >= 0 && c.label == depth) // br, br_if, br_table out of the function
			l, isCounted := counted[i+k]
			if c.class >= bulkBytes || leaves || isCounted {
				out = append(out, body[from:c.start]...)
				if c.class >= bulkBytes {
					out = f.chargeBulk(out, c.class)
				}
				if leaves {
					out = f.store(out)
				}
				if isCounted {
					out = f.prepay(out, l)
				}
				from = c.start
			}
			switch c.op {
			case 0x02, 0x03, 0x04: // block, loop, if
				depth++
			case 0x0B: // end
				depth--
			}
		}
		out = append(out, body[from:code[j-1].end]...)
		i = j
	}
	return out, nil
}

// segmentEnd returns the end of the segment that starts at code[i]: just
// after the first instruction that ends the straight line or opens a loop.
func segmentEnd(code []decoded, i int) int {
	j := i + 1
	for j < len(code) && code[j-1].class != splitAfter && code[j-1].class != loopHeader {
		j++
	}
	return j
}

func isCall(op byte) bool { return op == 0x10 || op == 0x11 }

// fuelVars names the fuel global and a function's working copy of it.
type fuelVars struct {
	global  uint32 // the counter; the floor and the mark are the next globals
	local   uint32 // the working copy
	scratch uint32 // an i32 for bulk sizes
	yield   int64  // the injected yield function, or -1
}

// load copies the global counter into the working copy.
func (f fuelVars) load(b []byte) []byte {
	b = append(b, 0x23) // global.get
	b = appendULEB(b, uint64(f.global))
	b = append(b, 0x21) // local.set
	return appendULEB(b, uint64(f.local))
}

// store writes the working copy back to the global counter.
func (f fuelVars) store(b []byte) []byte {
	b = append(b, 0x20) // local.get
	b = appendULEB(b, uint64(f.local))
	b = append(b, 0x24) // global.set
	return appendULEB(b, uint64(f.global))
}

// segmentCost counts a segment's instructions other than block, loop,
// end and nop, which mark structure and compile to nothing. Counting them
// would overcharge code generators that nest many blocks inside a loop
// (Go's dispatches each basic block through a br_table under a stack of
// blocks, all re-entered on every iteration). Every cycle still pays: a
// loop repeats only through a branch and recursion only through a call.
func segmentCost(seg []decoded) int64 {
	var cost int64
	for _, c := range seg {
		switch c.op {
		case 0x01, 0x02, 0x03, 0x0B: // nop, block, loop, end
		default:
			cost++
		}
	}
	return cost
}

// charge subtracts cost and, when checked, traps if the counter is below
// the floor.
func (f fuelVars) charge(b []byte, cost int64, checked, yield bool) []byte {
	b = append(b, 0x20) // local.get
	b = appendULEB(b, uint64(f.local))
	b = append(b, 0x42) // i64.const
	b = appendSLEB(b, cost)
	b = append(b, 0x7D) // i64.sub
	if !checked {
		b = append(b, 0x21) // local.set
		return appendULEB(b, uint64(f.local))
	}
	b = append(b, 0x22) // local.tee
	b = appendULEB(b, uint64(f.local))
	if yield && f.yield >= 0 {
		return f.checkAndYield(b)
	}
	return f.check(b)
}

// check compares the counter on the stack with the floor and traps, with
// the counter written back, when it is below.
func (f fuelVars) check(b []byte) []byte {
	b = append(b, 0x23) // global.get floor
	b = appendULEB(b, uint64(f.global)+1)
	b = append(b, 0x53, 0x04, 0x40) // i64.lt_s, if
	b = f.store(b)
	return append(b, 0x00, 0x0B) // unreachable, end
}

// checkAndYield is the check at the headers of loops that make calls. It
// compares the counter on the stack with the mark, and below it takes the
// slow path: write the counter back, trap if it is below the floor (fuel
// exhausted, or the host asked the guest to stop), else yield and set the
// next mark YieldEvery fuel further on, never below the floor, so
// exhaustion traps where the plain check would.
//
// The yield calls the injected function that runs memory.grow 0, which
// changes nothing but leaves machine code for the runtime's Go side: a
// point where Go can preempt the guest's goroutine, so a garbage
// collection need not wait for a long guest call to end. Function entries
// and loops without calls keep the plain check: a way out to Go on their
// slow path makes wazero's compiler keep values out of registers across
// the whole function (measured: a matrix multiply twice as slow with
// yields in its loops, 28% slower with one at its entry). A loop without
// calls runs at a billion fuel a second or more, so its fuel bounds its
// run; recursion without loops ends at the stack's limit.
func (f fuelVars) checkAndYield(b []byte) []byte {
	b = append(b, 0x23) // global.get mark
	b = appendULEB(b, uint64(f.global)+2)
	b = append(b, 0x53, 0x04, 0x40) // i64.lt_s, if
	b = f.store(b)
	b = append(b, 0x20) // local.get
	b = appendULEB(b, uint64(f.local))
	b = append(b, 0x23) // global.get floor
	b = appendULEB(b, uint64(f.global)+1)
	b = append(b, 0x53, 0x04, 0x40, 0x00, 0x0B) // i64.lt_s, if, unreachable, end
	b = append(b, 0x10)                         // call the yield function
	b = appendULEB(b, uint64(f.yield))
	// mark = max(counter - YieldEvery, floor)
	next := func(b []byte) []byte {
		b = append(b, 0x20) // local.get
		b = appendULEB(b, uint64(f.local))
		b = append(b, 0x42) // i64.const
		b = appendSLEB(b, YieldEvery)
		return append(b, 0x7D) // i64.sub
	}
	floor := func(b []byte) []byte {
		b = append(b, 0x23) // global.get floor
		return appendULEB(b, uint64(f.global)+1)
	}
	b = floor(next(b))
	b = floor(next(b))
	b = append(b, 0x55, 0x1B, 0x24) // i64.gt_s, select, global.set mark
	b = appendULEB(b, uint64(f.global)+2)
	return append(b, 0x0B) // end
}

// loopsWithCalls marks, by the code index of its loop instruction, each
// loop whose body makes a call.
func loopsWithCalls(code []decoded) map[int]bool {
	var marks map[int]bool
	var open []int // code indices of the enclosing loops; -1 for block and if
	for i, c := range code {
		switch {
		case c.op == 0x02 || c.op == 0x04: // block, if
			open = append(open, -1)
		case c.op == 0x03: // loop
			open = append(open, i)
		case c.op == 0x0B: // end
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case isCall(c.op):
			for _, loop := range open {
				if loop >= 0 {
					if marks == nil {
						marks = map[int]bool{}
					}
					marks[loop] = true
				}
			}
		}
	}
	return marks
}

// chargeBulk charges for the size operand on top of the stack, leaving it
// in place, and checks.
func (f fuelVars) chargeBulk(b []byte, c class) []byte {
	b = append(b, 0x22) // local.tee
	b = appendULEB(b, uint64(f.scratch))
	b = append(b, 0x20) // local.get counter
	b = appendULEB(b, uint64(f.local))
	b = append(b, 0x20) // local.get size
	b = appendULEB(b, uint64(f.scratch))
	b = append(b, 0xAD) // i64.extend_i32_u
	switch c {
	case bulkBytes:
		b = append(b, 0x42, bytesShift, 0x88) // i64.const 3, i64.shr_u
	case growPages:
		b = append(b, 0x42, pageShift, 0x86) // i64.const 13, i64.shl
	}
	b = append(b, 0x7D, 0x22) // i64.sub, local.tee
	b = appendULEB(b, uint64(f.local))
	return f.check(b)
}
