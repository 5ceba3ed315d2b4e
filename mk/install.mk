# Installing radpipe like a Unix tool set (issue 15.2).
#   make install   [PREFIX=/usr/local] [DESTDIR=...]
#   make uninstall [same PREFIX and DESTDIR]: removes exactly what install put
#
# What goes where (under $(DESTDIR)):
#   $(BINDIR)          the programs; the pipelines as radpipe-hello-world,
#                      radpipe-train-distributed, radpipe-compare,
#                      radpipe-seeds and radpipe-fetch
#   $(MANDIR)          man1, man5 and man7 pages (then: mandb, man nntrain)
#   $(LIBDIR)/radpipe  libradpipe_cuda.so when it was built: the programs
#                      look for it in <dir of the executable>/../lib/radpipe
#                      (libshared/nn/cuda_loader.c), so keep
#                      BINDIR=PREFIX/bin and LIBDIR=PREFIX/lib
#   $(DATAROOTDIR)/radpipe   the checksums the pipelines verify against, and
#                      lib.bash, which radpipe-compare and radpipe-seeds source
#   $(COMPLETIONDIR)   bash completion, one file per program, generated at
#                      build time from PROG --list-options (completion/mkcompletion)

PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
LIBDIR        ?= $(PREFIX)/lib
DATAROOTDIR   ?= $(PREFIX)/share
MANDIR        ?= $(DATAROOTDIR)/man
COMPLETIONDIR ?= $(DATAROOTDIR)/bash-completion/completions
INSTALL       ?= install

COMPLETIONS   := $(PROGS:%=$(B)/bash-completion/%)
INST_PIPELINES := hello-world train-distributed compare seeds fetch
INST_SHARE    := pipelines/weights.md5 pipelines/Open_I_abd_vs_CXRs.sha256 pipelines/lib.bash
MAN_PAGES     := $(sort $(wildcard man/man1/*.1 man/man5/*.5 man/man7/*.7))
INST_CUDA     := $(if $(filter 1,$(WITH_CUDA)),$(CUDA_SO))

# Every file install may write, relative to $(DESTDIR): what uninstall
# removes (the CUDA object too, whether or not this build made it).
INST_FILES    := $(PROGS:%=$(BINDIR)/%) $(INST_PIPELINES:%=$(BINDIR)/radpipe-%) \
                 $(MAN_PAGES:man/%=$(MANDIR)/%) $(PROGS:%=$(COMPLETIONDIR)/%) \
                 $(INST_SHARE:pipelines/%=$(DATAROOTDIR)/radpipe/%) \
                 $(LIBDIR)/radpipe/libradpipe_cuda.so

.PHONY: install uninstall completion
all: $(COMPLETIONS)
completion: $(COMPLETIONS)

$(B)/bash-completion/%: $(OUT_BIN)/% completion/mkcompletion
	@mkdir -p $(@D)
	completion/mkcompletion $< > $@.tmp && mv $@.tmp $@

install: all $(COMPLETIONS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(DATAROOTDIR)/radpipe \
		$(addprefix $(DESTDIR)$(MANDIR)/,$(sort $(dir $(MAN_PAGES:man/%=%))))
	$(INSTALL) -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	for p in $(INST_PIPELINES); do $(INSTALL) -m 755 pipelines/$$p $(DESTDIR)$(BINDIR)/radpipe-$$p || exit 1; done
	for m in $(MAN_PAGES); do $(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/$${m#man/} || exit 1; done
	$(INSTALL) -m 644 $(COMPLETIONS) $(DESTDIR)$(COMPLETIONDIR)/
	$(INSTALL) -m 644 $(INST_SHARE) $(DESTDIR)$(DATAROOTDIR)/radpipe/
ifneq ($(INST_CUDA),)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR)/radpipe
	$(INSTALL) -m 755 $(INST_CUDA) $(DESTDIR)$(LIBDIR)/radpipe/libradpipe_cuda.so
endif

# Removes the files install writes (all of them, whatever this build made),
# then radpipe's own folders when they are empty; shared folders stay.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INST_FILES))
	-rmdir $(DESTDIR)$(DATAROOTDIR)/radpipe $(DESTDIR)$(LIBDIR)/radpipe 2>/dev/null
