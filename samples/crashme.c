/* A small program whose core the demo and the tests debug: main calls
 * parse_request, which calls checksum_block, where a breakpoint takes the
 * core (gcore) while three named frames are on the stack. Given "crash" as
 * its second argument it aborts there instead, and the kernel dumps it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char heap_marker[64];
static int crash_now;

__attribute__((noinline)) int checksum_block(const unsigned char* data, int len) {
  int sum = 0;
  for (int i = 0; i < len; ++i) sum = sum * 31 + data[i];
  if (crash_now) abort();
  return sum;
}

__attribute__((noinline)) int parse_request(const char* request) {
  unsigned char block[256];
  memset(block, 0, sizeof(block));
  strncpy((char*)block, request, sizeof(block) - 1);
  return checksum_block(block, (int)strlen(request));
}

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  crash_now = argc > 2 && strcmp(argv[2], "crash") == 0;
  /* Optional ballast so that the core is as large as asked for. */
  if (mib > 0) {
    char* ballast = malloc(mib << 20);
    for (size_t i = 0; i < (mib << 20); i += 4096) ballast[i] = (char)i;
  }
  strcpy(heap_marker, "dumpcrypt-demo-marker");
  printf("%d\n", parse_request("GET /vmfs/volumes/datastore1 HTTP/1.1"));
  return 0;
}
