// Robot webhook bodies shared by the JSON tests and benchmark (bench/ builds with -Itests).
#pragma once
#include <string_view>

namespace wspush::json::samples {

// An Alertmanager-style alert as a DingTalk markdown message, as a Python robot client
// writes it (json.dumps with ensure_ascii=False, the emoji escaped as a surrogate pair);
// 598 bytes.
constexpr std::string_view kMarkdownAlert =
    R"json({"msgtype": "markdown", "markdown": {"title": "[FIRING:2] 磁盘空间不足 prod-db", )json"
    R"json("text": "#### \ud83d\udd25 [FIRING:2] 磁盘空间不足\n> **集群**: prod-db (华东1)\n)json"
    R"json(> **实例**: db-07.internal:9100, db-09.internal:9100\n> **严重性**: `critical`\n)json"
    R"json(> **摘要**: /var/lib/mysql 使用率 93.4% > 90%\n\n- 标签: alertname=DiskSpaceLow, team=dba, env=prod\n)json"
    R"json(- 开始: 2024-06-01 03:12:45 +08:00\n- [查看面板](https://grafana.example.com/d/disk?var-host=db-07)\n)json"
    R"json(- 值班: @13800138000 \"DBA\"\n"}, "at": {"atMobiles": ["13800138000"], )json"
    R"json("atUserIds": ["dba-oncall"], "isAtAll": false}})json";

}  // namespace wspush::json::samples
