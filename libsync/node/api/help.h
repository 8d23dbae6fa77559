// The `help` of each namespace: {description, commands: {method: {type, description, args}}},
// the shape ssb-server's help methods answer (muxrpc-usage reads it). Not a public header.
#pragma once

#include "ssb/json.h"

namespace ssb::api {

json::Value DbHelp();
json::Value FriendsHelp();
json::Value GossipHelp();
json::Value BlobsHelp();
json::Value QueryHelp();
json::Value Links2Help();
json::Value OooHelp();
json::Value PluginsHelp();

}  // namespace ssb::api
