package sandbox

import (
	"bytes"
	"sort"

	"github.com/tetratelabs/wazero"

	"github.com/arena-dev/arena/meter"
)

var wasmMagic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// checkHeader is the cheap check done before wazero sees the bytes.
func checkHeader(wasm []byte, maxBytes int) error {
	if maxBytes > 0 && len(wasm) > maxBytes {
		return reject("module is %d bytes, over the limit of %d", len(wasm), maxBytes)
	}
	if len(wasm) < len(wasmMagic) || !bytes.Equal(wasm[:4], wasmMagic[:4]) {
		return reject("not a WebAssembly module (missing the \\0asm magic)")
	}
	if !bytes.Equal(wasm[4:8], wasmMagic[4:]) {
		return reject("unsupported WebAssembly binary version %x (want 1)", wasm[4:8])
	}
	return nil
}

// checkShape checks the memories and tables the module declares.
func checkShape(info meter.Info, lim Limits) error {
	for i, m := range info.Memories {
		switch {
		case m.Imported:
			return reject("module imports a memory; it must define and export its own as \"memory\"")
		case m.Min > lim.MemoryPages:
			return reject("memory %d starts at %d pages, over the limit of %d", i, m.Min, lim.MemoryPages)
		case m.Max > int64(lim.MemoryPages):
			return reject("memory %d may grow to %d pages, over the limit of %d; declare a maximum of at most %d or none", i, m.Max, lim.MemoryPages, lim.MemoryPages)
		}
	}
	for i, t := range info.Tables {
		switch {
		case t.Imported:
			return reject("module imports a table; tables must be its own")
		case t.Min > MaxTableElements:
			return reject("table %d starts with %d elements, over the limit of %d", i, t.Min, MaxTableElements)
		case t.Max > MaxTableElements:
			return reject("table %d declares a maximum of %d elements, over the limit of %d", i, t.Max, MaxTableElements)
		case t.Max < 0 && info.GrowsTables:
			return reject("table %d has no maximum and the module uses table.grow; declare a maximum of at most %d", i, MaxTableElements)
		}
	}
	return nil
}

// checkABI checks a compiled module's imports, memory and exports.
func checkABI(c wazero.CompiledModule, rt wazero.Runtime, abi ABI, lim Limits) error {
	host := rt.Module(wasiModule).ExportedFunctionDefinitions()
	for _, imp := range c.ImportedFunctions() {
		mod, name, _ := imp.Import()
		if mod != wasiModule {
			return reject("import %s.%s is not allowed: only the %s functions %s may be imported", mod, name, wasiModule, allowedList())
		}
		if !allowedWASI[name] {
			return reject("import %s.%s is not allowed: only %s may be imported", mod, name, allowedList())
		}
		want := host[name]
		if !sameTypes(imp.ParamTypes(), want.ParamTypes()) || !sameTypes(imp.ResultTypes(), want.ResultTypes()) {
			got := Func{Name: name, Params: imp.ParamTypes(), Results: imp.ResultTypes()}
			exp := Func{Name: name, Params: want.ParamTypes(), Results: want.ResultTypes()}
			return reject("import %s.%s has signature %s, want %s", mod, name, got, exp)
		}
	}
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return reject("module does not export its memory as \"memory\"")
	}
	if err := abi.check(); err != nil {
		return err // the kind's mistake, not the module's
	}
	exports := c.ExportedFunctions()
	for _, f := range append([]Func{AllocFunc}, abi.Funcs...) {
		def, ok := exports[f.Name]
		if !ok {
			if f.Optional {
				continue
			}
			return reject("missing export %s", f)
		}
		// An optional export that is present is held to its signature:
		// a module must not be half v2, say.
		if !sameTypes(def.ParamTypes(), f.Params) || !sameTypes(def.ResultTypes(), f.Results) {
			got := Func{Name: f.Name, Params: def.ParamTypes(), Results: def.ResultTypes()}
			return reject("export %s, want %s", got, f)
		}
	}
	for _, group := range abi.AnyOf {
		found := false
		for _, name := range group {
			if _, ok := exports[name]; ok {
				found = true
				break
			}
		}
		if !found {
			return reject("%s", abi.noneOf(group))
		}
	}
	return nil
}

func allowedList() string {
	names := make([]string, 0, len(allowedWASI))
	for n := range allowedWASI {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}
