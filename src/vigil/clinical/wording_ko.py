"""The Korean words of findings, as Korean clinicians write them: one template per kind (see
:mod:`vigil.clinical.wording`)."""

from __future__ import annotations

TEMPLATES: dict[str, str] = {
    "hypertensive_crisis": "혈압 {bp}, 고혈압 위기 기준({limit}) 이상입니다.",
    "spo2_low": "산소포화도 {value}, 환자 기준({threshold}) 미만입니다.",
    "hypoglycemia_urgent": "혈당 {value}, 2단계(긴급) 저혈당 기준({threshold}) 미만입니다.",
    "hypoglycemia_urgent_lag": "혈당 {value}, 하강 중입니다. 센서 혈당은 실제 혈당보다 약 "
    "{lag_min}분 늦으므로 실제 혈당은 이미 2단계(긴급) 저혈당일 가능성이 높습니다.",
    "hypoglycemia": "혈당 {value}, 저혈당 기준({threshold}) 미만입니다.",
    "hypoglycemia_unconfirmed": "혈당 {value}, 저혈당 기준({threshold}) 미만이며 {urgent}(긴급 "
    "저혈당)에 가깝습니다. 다음 측정과 센서 추세로 확인되면 긴급 저혈당입니다.",
    "hypoglycemia_unconfirmed_drift": "혈당 {value}, 저혈당 기준({threshold}) 미만이며 "
    "{urgent}(긴급 저혈당)에 가깝습니다. 이 센서는 최대 45분 동안 약 {drift}만큼 "
    "벗어나므로, {minutes}분 동안 {urgent} 미만이 이어지고 센서 추세가 맞으면 "
    "긴급 저혈당입니다.",
    "hyperglycemia": "혈당 {value}, 고혈당 기준({threshold}) 초과입니다.",
    "tachycardia": "안정 시 심박수 {value}, 기준({threshold}) 초과입니다.",
    "tachycardia_lasting": "안정 시 심박수 {value}, 기준({threshold}) 초과가 {minutes}분간 "
    "지속되었습니다.",
    "bradycardia": "심박수 {value}, 기준({threshold}) 미만입니다.",
    "bradycardia_lasting": "심박수 {value}, 기준({threshold}) 미만이 {minutes}분간 지속되었습니다.",
    "fever": "체온 {value}, 발열 기준({threshold}) 이상입니다.",
    "tachycardia_above_usual": "안정 시 심박수 {value}, 이 환자의 평소({usual})보다 {delta} 높은 "
    "상태가 {minutes}분간 지속되었습니다(기준 {threshold} 이상).",
    "fever_above_usual": "체온 {value}, 이 환자의 평소({usual})보다 {delta} 높습니다"
    "(기준 {threshold} 이상).",
    "hf_weight_gain": "체중 {gain} 증가({start} → {value}), 심부전 기준({days}일 내 "
    "{threshold}) 이상입니다.",
    "hf_weight_baseline": "체중 {value}, 평소 체중({baseline})보다 {excess} 높고 직전 "
    "측정({previous})도 높았습니다.",
    "copd_exacerbation": "산소포화도 {value}, 평소({baseline})보다 {drop}%p 낮습니다.",
    "bp_above_target": "최근 {days}일 가정혈압 평균 {bp}({readings}회 측정), 목표({target}) "
    "초과입니다.",
    "predicted_low": "혈당 {value}, 분당 {rate} mg/dL 하강 중: {horizon}분 안에 {threshold} "
    "미만(긴급 저혈당)이 예상됩니다.",
    "predicted_low_insulin": "혈당 {value}, 활성 인슐린 {insulin}: {minutes}분 안에 "
    "{threshold} 미만(긴급 저혈당)이 예상됩니다.",
    "predicted_low_insulin_carbs": "혈당 {value}, 활성 인슐린 {insulin}, 흡수 중인 탄수화물 "
    "{carbs} g: {minutes}분 안에 {threshold} 미만(긴급 저혈당)이 예상됩니다.",
    "news2": "조기경보점수(NEWS2) {score}점, 긴급 평가 기준({threshold}점) 이상입니다.",
    "unusual_high": "{name} {value}, 이 환자의 평소보다 {delta} 높습니다(2회 연속).",
    "unusual_low": "{name} {value}, 이 환자의 평소보다 {delta} 낮습니다(2회 연속).",
    "missed_measurements": "{days}일째 측정값이 없습니다(허용 간격 {allowed}시간).",
    "device_silent": "기기 {device}, {hours}시간째 수신이 없습니다(허용 {allowed}시간).",
    "late": " ({age} 전 측정, 늦게 전송됨)",
    "age_hours": "{n}시간",
    "age_days": "{n}일",
}

METRIC_NAMES: dict[str, str] = {
    "heart_rate": "심박수",
    "spo2": "산소포화도",
    "bp_systolic": "수축기 혈압",
    "bp_diastolic": "이완기 혈압",
    "glucose": "혈당",
    "body_weight": "체중",
    "body_temperature": "체온",
    "respiratory_rate": "호흡수",
}
