/* Host build of TF-A's SDEI dispatcher: a failed assertion is a result the harness reports
 * (host.c longjmps back to it), not the end of the process. Off when ENABLE_ASSERTIONS is 0,
 * as in a TF-A release build. */
#ifndef SDEI_HOST_ASSERT_H
#define SDEI_HOST_ASSERT_H
#if ENABLE_ASSERTIONS
void sdei_host_assert_failed(const char *file, int line, const char *expression)
	__attribute__((__noreturn__));
#define assert(e) ((e) ? (void)0 : sdei_host_assert_failed(__FILE__, __LINE__, #e))
#else
#define assert(e) ((void)0)
#endif
#endif
