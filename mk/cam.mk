# Grad-CAM (issue 18 item 1): nninfer --cam, plot --cam.  The test helper
# $(B)/tests/gradcam_model writes the PyTorch fixture's model and images
# (tests/ref/gradcam_fixture.h) for tests/cli/cam.bats; `make` builds it
# with the programs.
GRADCAM_MODEL := $(B)/tests/gradcam_model
all: $(GRADCAM_MODEL)
EXTRA_TEST_DEPS += $(GRADCAM_MODEL)
.SECONDARY: $(B)/tests/ref/gradcam_model.o

$(GRADCAM_MODEL): $(B)/tests/ref/gradcam_model.o $(LIBNN) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $< -o $@ $(LIBNN) $(LIBSHARED) $(NN_LDLIBS) $(LDLIBS)
