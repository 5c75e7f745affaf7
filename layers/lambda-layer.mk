# What both layer Makefiles share: `include`d by layers/shared/Makefile and layers/dataplane/Makefile.
# `sam build` runs those with `make --makefile <the source Makefile>`, so paths relative to the
# including Makefile's directory ($(HERE)) resolve in the checkout.

PYTHON ?= python3.12
UV ?= uv
SITE = $(ARTIFACTS_DIR)/python

# Wheels for Lambda's python3.12 on x86_64 (Amazon Linux 2023, glibc 2.34), whatever the machine
# that builds them: `--platform` and `--only-binary` keep pip from looking at the local system, and
# `--no-deps` installs exactly the lock, so nothing the runtime (or, for the dataplane layer, the
# shared layer) provides is bundled twice. manylinux_2_28 is listed because pyarrow 26 no longer
# comes as manylinux2014.
PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
	--only-binary=:all: --implementation cp --python-version 3.12 \
	--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64

# Provided by the Lambda Python runtime: resolved with the rest so the pins agree, left out of the locks.
RUNTIME_PROVIDED := boto3 botocore s3transfer jmespath urllib3 python-dateutil six

# The lock's packages into $(SITE), checked to run on Lambda's Python; console scripts dropped
# (they carry the build machine's interpreter path and are never run in Lambda).
define install_lock
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: this target is run by 'sam build'"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' \
		|| { echo "$(PYTHON) is not Python 3.12, the Lambda runtime's: pass PYTHON=/path/to/python3.12"; exit 1; }
	rm -rf "$(SITE)"
	$(PIP_INSTALL) --target "$(SITE)" -r "$(HERE)requirements.txt"
	rm -rf "$(SITE)/bin"
endef
