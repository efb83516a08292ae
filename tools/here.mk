# The Makefile of every working folder (a symlink to tools/here.mk): make runs from the repository
# root only, so here it says so and how to get there, instead of "No rule to make target".
$(error run make from the repository root: cd $(or $(patsubst %/,%,$(shell git rev-parse --show-cdup 2>/dev/null)),..) && make $(strip $(or $(MAKECMDGOALS),help) $(MAKEOVERRIDES)))
