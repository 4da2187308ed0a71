# Builds bench/peers/uws_push from exported uWebSockets and uSockets trees (run from the
# repository root by tools/bench/peers.sh; never part of the main Makefile's build):
#   make -f bench/peers/peers.mk UWS=<uWebSockets tree> USOCKETS=<uSockets tree> OBJ=<dir> OUT=<binary>
# uSockets is compiled with the flags its own Makefile uses for a no-SSL build, minus -flto
# and at -O2 like wspushd (epoll backend, Linux's default); uWebSockets is header-only and is
# compiled into the harness with it (no zlib: compression stays off).
UWS      ?= build/peers/src/uWebSockets
USOCKETS ?= build/peers/src/uSockets
OBJ      ?= build/peers/obj
OUT      ?= build/peers/uws_push
CC       ?= gcc
CXX      ?= g++

US_CFLAGS := -O2 -DLIBUS_NO_SSL -I$(USOCKETS)/src
# Ours warning-free; the peers' headers are -isystem, so their warnings are theirs.
CXXFLAGS_PEER := -std=c++20 -O2 -Wall -Wextra -Werror -DLIBUS_NO_SSL -DUWS_NO_ZLIB \
  -isystem $(UWS)/src -isystem $(USOCKETS)/src -Isrc -MMD -MP

US_SRC := $(wildcard $(USOCKETS)/src/*.c $(USOCKETS)/src/eventing/*.c)
US_OBJ := $(patsubst $(USOCKETS)/src/%.c,$(OBJ)/usockets/%.o,$(US_SRC))
OUR_OBJ := $(OBJ)/uws_push.o $(OBJ)/names.o

$(OUT): $(OUR_OBJ) $(US_OBJ)
	$(CXX) -O2 $^ -o $@

$(OBJ)/usockets/%.o: $(USOCKETS)/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(US_CFLAGS) -c $< -o $@

$(OBJ)/uws_push.o: bench/peers/uws_push.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_PEER) -c $< -o $@

$(OBJ)/names.o: src/push/names.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_PEER) -c $< -o $@

-include $(OUR_OBJ:.o=.d)
