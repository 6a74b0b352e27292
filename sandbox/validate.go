package sandbox

import (
	"bytes"
	"sort"

	"github.com/tetratelabs/wazero"
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
	if len(c.ImportedMemories()) > 0 {
		return reject("module imports a memory; it must define and export its own as \"memory\"")
	}
	mem, ok := c.ExportedMemories()["memory"]
	if !ok {
		return reject("module does not export its memory as \"memory\"")
	}
	if mem.Min() > lim.MemoryPages {
		return reject("memory starts at %d pages, over the limit of %d", mem.Min(), lim.MemoryPages)
	}
	exports := c.ExportedFunctions()
	for _, f := range append([]Func{AllocFunc}, abi.Funcs...) {
		def, ok := exports[f.Name]
		if !ok {
			return reject("missing export %s", f)
		}
		if !sameTypes(def.ParamTypes(), f.Params) || !sameTypes(def.ResultTypes(), f.Results) {
			got := Func{Name: f.Name, Params: def.ParamTypes(), Results: def.ResultTypes()}
			return reject("export %s, want %s", got, f)
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
