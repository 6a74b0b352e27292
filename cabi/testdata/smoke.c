/* smoke: drives libarena.so from C through arena.h, as a non-Python host
 * would: a healthy optimizer steps, each error class comes back as a code
 * and a message, and a failed module does not take the process with it.
 *
 *   cc -Wall -Werror -Icabi -o bin/smoke cabi/testdata/smoke.c -Lbin -larena
 *   LD_LIBRARY_PATH=bin bin/smoke examples/optimizer/signsgd.wasm sandbox/testdata/loop.wasm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

static int failures;

static void expect(int got, int want, const char *what, char *err) {
	if (got != want) {
		fprintf(stderr, "FAIL %s: code %d, want %d (%s)\n", what, got, want, err ? err : "no message");
		failures++;
	} else if (want != ARENA_OK && (err == NULL || err[0] == 0)) {
		fprintf(stderr, "FAIL %s: code %d without a message\n", what, got);
		failures++;
	} else {
		printf("ok   %s%s%s\n", what, err ? ": " : "", err ? err : "");
	}
	arena_free(err);
}

static uint8_t *slurp(const char *path, int64_t *len) {
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	uint8_t *b = malloc(*len);
	if (fread(b, 1, *len, f) != (size_t)*len) {
		perror(path);
		exit(2);
	}
	fclose(f);
	return b;
}

/* CHECK makes the call before expect reads err (C leaves the order of
 * a call's arguments open). */
#define CHECK(call, want, what)             \
	do {                                    \
		int code_ = (call);                 \
		expect(code_, want, what, err);     \
		err = NULL;                         \
	} while (0)

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: smoke SIGNSGD.wasm LOOP.wasm\n");
		return 2;
	}
	if (arena_version() != 3) {
		fprintf(stderr, "FAIL arena_version() = %d, want 3\n", arena_version());
		return 1;
	}
	char *err = NULL;
	arena_handle eng = 0, mod = 0, opt = 0, bad = 0;
	CHECK(arena_engine_new(4, NULL, &eng, &err), ARENA_OK, "engine");

	int64_t len;
	uint8_t *wasm = slurp(argv[1], &len);
	const char *limits = "{\"fuel_per_task\": 1000000}";
	CHECK(arena_module_load(eng, "optimizer", wasm, len, limits, &mod, &err), ARENA_OK, "load signsgd");
	CHECK(arena_optimizer_new(mod, 4, NULL, 0, &opt, &err), ARENA_OK, "optimizer");

	/* signsgd moves every parameter 0.05/sqrt(t+1) against its gradient's sign. */
	double params[4] = {1, -2, 3, -4}, grads[4] = {1, -1, 1, -1};
	CHECK(arena_optimizer_step(opt, 0, params, grads, 4, 0.5, &err), ARENA_OK, "step");
	if (params[0] != 1 - 0.05 || params[1] != -2 + 0.05) {
		fprintf(stderr, "FAIL step: params %g %g\n", params[0], params[1]);
		failures++;
	}
	CHECK(arena_optimizer_step(opt, 1, params, grads, 3, 0.5, &err), ARENA_BAD_INPUT, "wrong length");
	CHECK(arena_optimizer_step(opt, 1, params, grads, 4, 0.5, &err), ARENA_OK, "step after bad input");
	CHECK(arena_schedule_lr(opt, 0, 0, &(double){0}, &err), ARENA_BAD_INPUT, "an optimizer as a schedule");

	int64_t fuel = 0;
	CHECK(arena_fuel_used(opt, &fuel, &err), ARENA_OK, "fuel");
	if (fuel <= 0) {
		fprintf(stderr, "FAIL fuel used %lld\n", (long long)fuel);
		failures++;
	}
	char *log = NULL;
	int64_t loglen = -1;
	CHECK(arena_log(opt, &log, &loglen, &err), ARENA_OK, "log");
	arena_free(log);

	uint8_t garbage[16] = "not a module";
	CHECK(arena_module_load(eng, "optimizer", garbage, sizeof garbage, NULL, &bad, &err), ARENA_REJECTED, "garbage");
	CHECK(arena_module_load(eng, "optimizer", wasm, len, "{\"fuel\": 1}", &bad, &err), ARENA_BAD_INPUT, "unknown limit");

	uint8_t *loop = slurp(argv[2], &len);
	arena_handle lmod = 0, lopt = 0;
	CHECK(arena_module_load(eng, "optimizer", loop, len, limits, &lmod, &err), ARENA_OK, "load loop");
	CHECK(arena_optimizer_new(lmod, 4, NULL, 0, &lopt, &err), ARENA_OK, "loop optimizer");
	CHECK(arena_optimizer_step(lopt, 0, params, grads, 4, 0, &err), ARENA_FAILED, "infinite loop");
	CHECK(arena_optimizer_step(lopt, 1, params, grads, 4, 0, &err), ARENA_FAILED, "stays failed");

	CHECK(arena_close(mod, &err), ARENA_OK, "close module");
	CHECK(arena_optimizer_step(opt, 2, params, grads, 4, 0.5, &err), ARENA_OK, "an object outlives its module");
	CHECK(arena_close(eng, &err), ARENA_OK, "close engine");
	CHECK(arena_optimizer_step(opt, 3, params, grads, 4, 0.5, &err), ARENA_BAD_INPUT, "closed with its engine");
	CHECK(arena_close(eng, &err), ARENA_BAD_INPUT, "close twice");

	free(wasm);
	free(loop);
	if (failures) {
		fprintf(stderr, "smoke: %d failed\n", failures);
		return 1;
	}
	printf("smoke: all passed\n");
	return 0;
}
