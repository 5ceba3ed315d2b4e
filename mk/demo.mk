# The paper end to end, and what it needs (issue 8).
#   make demo          Debian packages (installed when run as root), build,
#                      data and weights (downloaded when missing), then
#                      pipelines/hello-world into results/hello-world/
#   make data          the tutorial's images into data/Open_I_abd_vs_CXRs
#   make weights       the Keras ImageNet InceptionV3 weights into weights/;
#                      ARCH=resnet50|densenet121|mobilenet_v2|inception_v3
#                      for another architecture's
#   make experiments   every experiment of pipelines/Makefile, then the comparison
#   make deps          only the Debian packages
# Data and weights are looked up in $RADPIPE_DATA and $RADPIPE_WEIGHTS first,
# then in data/ and weights/.  The demo's settings are pipelines/hello-world's
# environment variables (EPOCHS=2 make demo, DEVICE=cuda make demo, ...).

.PHONY: demo data weights deps experiments demo-data demo-weights

deps:
	@pipelines/deps

data:
	@pipelines/fetch data

weights:
	@pipelines/fetch weights $(if $(ARCH),--arch $(ARCH))

# Data: where the pipeline will look; downloaded only when none is found.
demo-data:
	@if [ -d "$${RADPIPE_DATA:-}/TRAIN" ] || [ -d "$${RADPIPE_DATA:-}/Open_I_abd_vs_CXRs/TRAIN" ]; then \
		echo "demo: data from RADPIPE_DATA=$$RADPIPE_DATA"; \
	elif [ -n "$${RADPIPE_DATA:-}" ]; then \
		echo "demo: RADPIPE_DATA=$$RADPIPE_DATA has no TRAIN, VAL and TEST folders" >&2; exit 1; \
	elif [ -d data/TRAIN ] || [ -d data/Open_I_abd_vs_CXRs/TRAIN ]; then \
		echo "demo: data from data/"; \
	else \
		pipelines/fetch data; \
	fi

# Weights: a failed download is not fatal; the demo then trains from random
# initialisation and says so in its summary.
demo-weights:
	@if [ -n "$${RADPIPE_WEIGHTS:-}" ] || [ "$${WEIGHTS:-}" = none ] || ls weights/*.h5 >/dev/null 2>&1; then :; \
	else pipelines/fetch weights || echo "demo: going on without ImageNet weights (random initialisation)" >&2; fi

demo:
	@pipelines/deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory demo-data demo-weights
	pipelines/hello-world

experiments:
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -C pipelines all compare
