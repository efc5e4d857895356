//! The demo dataset of `shared/DEMO.md` as plain data: organizations,
//! accounts, the four children with their members, notebooks and emergency
//! details. `demo::load` turns it into rows through the domain layer.
//! All names are fictional.

/// An organization of the directory (関係機関).
pub struct DemoOrg {
    /// Key used by accounts below (`center`, `hospital`, ...).
    pub key: &'static str,
    pub name: &'static str,
    /// One of `health`, `medical`, `welfare`, `childcare`, `education`,
    /// `employment`, `family_association`, `npo`, `government`.
    pub field: &'static str,
    pub location: &'static str,
    pub summary: &'static str,
    pub strengths: &'static str,
    pub contact: &'static str,
}

/// A login account; every demo password is `renraku-demo`.
pub struct DemoAccount {
    pub login: &'static str,
    pub display_name: &'static str,
    /// `professional`, `guardian`, `youth` or `admin`.
    pub kind: &'static str,
    pub profession: Option<&'static str>,
    /// Key of a `DemoOrg`.
    pub org: Option<&'static str>,
}

/// A membership of a child's notebook (guardians are listed separately).
pub struct DemoMember {
    pub login: &'static str,
    /// `member` or `youth`.
    pub role: &'static str,
    /// `active` or `requested`.
    pub status: &'static str,
    /// Category names; `ALL` for every category.
    pub categories: &'static [&'static str],
    pub can_post: bool,
    pub purpose: &'static str,
    pub expires_in_days: Option<i64>,
    /// The membership was revoked once and granted again (the access log shows both).
    pub regranted: bool,
}

/// One notebook entry. `body` is the JSON body for its kind:
/// - note, medication, plan, handover: `{"text": ...}` plus, optionally,
///   medication `"drug"`, `"dose"`; plan `"title"`, `"goals": [..]`, `"review_date"`;
///   handover `"from"`, `"to"`.
/// - vital: `{"measure": "blood_glucose"|"spo2"|"temperature"|"heart_rate"|"weight", "value": number, "unit": "mg/dL"|"%"|"℃"|"bpm"|"kg", "text"?: ...}`
/// - attendance: `{"date": "YYYY-MM-DD", "status": "present"|"absent"|"late"|"early_leave", "reason"?: ..., "text"?: ...}`
///   (the date is rewritten by the loader to the entry's own day).
pub struct DemoEntry {
    /// Days before the demo is loaded (entries are ordered oldest first).
    pub days_ago: i64,
    /// Local time of day (JST) as "HH:MM".
    pub time: &'static str,
    pub author: &'static str,
    pub category: &'static str,
    pub kind: &'static str,
    pub body: &'static str,
    /// When set, this entry is a revision (correction) of the entry at this
    /// index in the same child's list, by the same author.
    pub revises: Option<usize>,
    pub reason: Option<&'static str>,
}

/// The emergency card (緊急時対応カード).
pub struct DemoCard {
    pub summary: &'static str,
    pub steps: &'static [&'static str],
    pub hospital: &'static str,
    pub notes: &'static str,
}

pub struct DemoChild {
    pub name: &'static str,
    pub name_kana: &'static str,
    pub birth_date: &'static str,
    pub disease_group: u8,
    pub diagnosis: &'static str,
    pub guardians: &'static [&'static str],
    pub members: &'static [DemoMember],
    pub entries: &'static [DemoEntry],
    /// Entries of `entries` that are addressed, ask for a reply or reply.
    pub asks: &'static [DemoAsk],
    pub card: DemoCard,
    /// (login, tier), tier 1 first.
    pub contacts: &'static [(&'static str, u8)],
}

/// Who an entry (by its index in the child's list) is addressed to, whether
/// it asks for a reply, and the entry (by index) it replies to.
pub struct DemoAsk {
    pub entry: usize,
    pub to: &'static [&'static str],
    pub needs_reply: bool,
    pub reply_to: Option<usize>,
}

pub const ALL: &[&str] = &[
    "health",
    "medical",
    "welfare",
    "childcare",
    "education",
    "employment",
    "family",
];

pub const PASSWORD: &str = "renraku-demo";

pub const ORGS: &[DemoOrg] = &[
    DemoOrg {
        key: "center",
        name: "みどり市こども支援センター",
        field: "government",
        location: "みどり市中央町1-2-3 みどり市役所東館2階",
        summary: "小児慢性特定疾病児童等自立支援事業の窓口です。自立支援員が本人・家族の相談を受け、関係機関をつないで支援計画をつくります。",
        strengths: "医療・教育・福祉をまたぐ調整、支援会議の開催、小児期から成人期への移行支援",
        contact: "代表 000-000-0000（平日8時30分〜17時15分）",
    },
    DemoOrg {
        key: "hospital",
        name: "みどり総合病院 小児科",
        field: "medical",
        location: "みどり市緑ヶ丘5-10",
        summary: "地域の小児医療の中核病院です。小児糖尿病、小児がんの外来化学療法、在宅人工呼吸器管理の子どもの診療を行っています。",
        strengths: "24時間の小児救急、レスパイト入院、医療ソーシャルワーカーによる療養・福祉の相談",
        contact: "代表 000-000-0001（24時間）／地域医療連携室 平日9時〜17時",
    },
    DemoOrg {
        key: "adult_cardio",
        name: "みどり大学病院 循環器内科",
        field: "medical",
        location: "みどり市学園町3-1",
        summary: "成人先天性心疾患外来で、子どものころに心臓の手術を受けた方の成人期の診療を担当しています。",
        strengths: "フォンタン術後の長期管理、小児科からの移行期医療、カテーテル検査・治療",
        contact: "予約センター 000-000-0002（平日9時〜16時）",
    },
    DemoOrg {
        key: "visiting_nurse",
        name: "訪問看護ステーションそら",
        field: "medical",
        location: "みどり市本町2-8-1 そらビル1階",
        summary: "小児と医療的ケア児に対応する訪問看護ステーションです。人工呼吸器、吸引、経管栄養のケアと家族の支援を行います。",
        strengths: "24時間の電話相談と緊急訪問、小児在宅ケアの経験が豊富な看護師、リハビリ職の同行訪問",
        contact: "代表 000-000-0003（24時間対応）",
    },
    DemoOrg {
        key: "health_center",
        name: "みどり保健所",
        field: "health",
        location: "みどり市保健町4-4",
        summary: "小児慢性特定疾病・指定難病の医療費助成の申請窓口です。保健師が家庭訪問や療養相談を行います。",
        strengths: "保健師の家庭訪問、医療的ケア児等コーディネーター、災害時の個別避難計画づくり",
        contact: "保健予防課 000-000-0004（平日8時30分〜17時15分）",
    },
    DemoOrg {
        key: "school",
        name: "みどり市立第一小学校",
        field: "education",
        location: "みどり市中央町6-1",
        summary: "児童数約480名の市立小学校です。養護教諭と特別支援教育コーディネーターを中心に、病気のある児童の学校生活を支えています。",
        strengths: "保健室での見守り、個別の教育支援計画、校内支援委員会、院内学級との連携",
        contact: "職員室 000-000-0005（平日8時〜17時）",
    },
    DemoOrg {
        key: "hospital_school",
        name: "みどり総合病院内 院内学級",
        field: "education",
        location: "みどり市緑ヶ丘5-10 みどり総合病院 小児病棟4階",
        summary: "長期入院中の児童・生徒が学ぶ院内学級（市立小・中学校の分教室）です。",
        strengths: "病状に合わせた個別の学習、前籍校との連絡、退院前後の復学支援",
        contact: "分教室 000-000-0006（平日9時〜16時）",
    },
    DemoOrg {
        key: "welfare_office",
        name: "障害福祉サービス事業所ひだまり",
        field: "welfare",
        location: "みどり市日向町7-3",
        summary: "重症心身障害児・医療的ケア児を受け入れる児童発達支援・放課後等デイサービスと、居宅介護の事業所です。",
        strengths: "看護師の常駐、喀痰吸引の研修を受けたヘルパーによる居宅介護、車いす対応の送迎",
        contact: "代表 000-000-0007（平日9時〜18時）",
    },
    DemoOrg {
        key: "npo",
        name: "NPO法人つばさの会",
        field: "npo",
        location: "みどり市本町1-5 みどり市民活動センター内",
        summary: "病気や障害のある子どもの家族と、その経験をもつ先輩家族の会です。",
        strengths: "ピアサポート、きょうだい児の集まり、先輩家族との交流会・情報交換",
        contact: "事務局 000-000-0008（火・木 10時〜15時）",
    },
];

pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        login: "admin",
        display_name: "管理者",
        kind: "admin",
        profession: None,
        org: Some("center"),
    },
    DemoAccount {
        login: "coordinator.yamada",
        display_name: "山田 恵",
        kind: "professional",
        profession: Some("support_coordinator"),
        org: Some("center"),
    },
    DemoAccount {
        login: "phn.kato",
        display_name: "加藤 由美",
        kind: "professional",
        profession: Some("public_health_nurse"),
        org: Some("health_center"),
    },
    DemoAccount {
        login: "doctor.ito",
        display_name: "伊藤 誠",
        kind: "professional",
        profession: Some("doctor"),
        org: Some("hospital"),
    },
    DemoAccount {
        login: "doctor.mori",
        display_name: "森 健一",
        kind: "professional",
        profession: Some("doctor"),
        org: Some("adult_cardio"),
    },
    DemoAccount {
        login: "nurse.suzuki",
        display_name: "鈴木 彩",
        kind: "professional",
        profession: Some("nurse"),
        org: Some("visiting_nurse"),
    },
    DemoAccount {
        login: "teacher.tanaka",
        display_name: "田中 翔",
        kind: "professional",
        profession: Some("school_teacher"),
        org: Some("school"),
    },
    DemoAccount {
        login: "schoolnurse.ogawa",
        display_name: "小川 真理",
        kind: "professional",
        profession: Some("school_nurse"),
        org: Some("school"),
    },
    DemoAccount {
        login: "teacher.kimura",
        display_name: "木村 優子",
        kind: "professional",
        profession: Some("school_teacher"),
        org: Some("hospital_school"),
    },
    DemoAccount {
        login: "welfare.hayashi",
        display_name: "林 大輔",
        kind: "professional",
        profession: Some("welfare_staff"),
        org: Some("welfare_office"),
    },
    DemoAccount {
        login: "msw.shimizu",
        display_name: "清水 朋子",
        kind: "professional",
        profession: Some("social_worker"),
        org: Some("hospital"),
    },
    DemoAccount {
        login: "guardian.sato",
        display_name: "佐藤 美咲",
        kind: "guardian",
        profession: None,
        org: None,
    },
    DemoAccount {
        login: "guardian.takahashi",
        display_name: "高橋 直樹",
        kind: "guardian",
        profession: None,
        org: None,
    },
    DemoAccount {
        login: "guardian.watanabe",
        display_name: "渡辺 久美子",
        kind: "guardian",
        profession: None,
        org: None,
    },
    DemoAccount {
        login: "guardian.nakamura",
        display_name: "中村 麻衣",
        kind: "guardian",
        profession: None,
        org: None,
    },
    DemoAccount {
        login: "youth.watanabe",
        display_name: "渡辺 蓮",
        kind: "youth",
        profession: None,
        org: None,
    },
];

const HINATA_MEMBERS: &[DemoMember] = &[
    DemoMember {
        login: "doctor.ito",
        role: "member",
        status: "active",
        categories: &["medical", "health"],
        can_post: true,
        purpose: "主治医（小児科）としてインスリン治療の指示と経過の共有",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "schoolnurse.ogawa",
        role: "member",
        status: "active",
        categories: &["medical", "education", "health"],
        can_post: true,
        purpose: "学校での血糖測定・インスリン注射の見守りと低血糖時の対応（養護教諭）",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "teacher.tanaka",
        role: "member",
        status: "active",
        categories: &["education"],
        can_post: true,
        purpose: "校内の支援体制づくりと学級との調整（特別支援教育コーディネーター）",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "phn.kato",
        role: "member",
        status: "active",
        categories: &["health", "welfare", "medical"],
        can_post: true,
        purpose: "家庭訪問と療養相談、医療費助成の手続き（保健師）",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "coordinator.yamada",
        role: "member",
        status: "active",
        categories: ALL,
        can_post: true,
        purpose: "自立支援員として関係機関の調整と支援計画の作成",
        expires_in_days: None,
        regranted: false,
    },
];

const HINATA_ENTRIES: &[DemoEntry] = &[
    DemoEntry {
        days_ago: 42,
        time: "09:30",
        author: "doctor.ito",
        category: "medical",
        kind: "medication",
        body: r#"{"text": "学校での給食前インスリンの指示です。給食前に血糖を測り、養護教諭の見守りのもとで本人が注射します。食べた量が半分以下になりそうなときは、食後に打つ形で構いません。指示書の原本は保護者経由でお渡しします。", "drug": "インスリン アスパルト（超速効型）", "dose": "給食前 2単位（血糖値による補正は別紙スケールのとおり）"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 41,
        time: "16:00",
        author: "coordinator.yamada",
        category: "education",
        kind: "note",
        body: r#"{"text": "本日、学校・主治医・保健師・保護者で支援会議を行いました。低血糖時の補食は保健室と教室の2か所に置くこと、体育の前に血糖を確認することを確認しました。緊急時対応カードはこのノートに登録済みです。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 38,
        time: "07:50",
        author: "guardian.sato",
        category: "education",
        kind: "note",
        body: r#"{"text": "補食セット（ブドウ糖タブレット、小さいパックのりんごジュース、ビスケット）をランドセル用と保健室用に1つずつ持たせました。今朝の血糖は128でした。よろしくお願いします。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 37,
        time: "11:20",
        author: "schoolnurse.ogawa",
        category: "health",
        kind: "vital",
        body: r#"{"measure": "blood_glucose", "value": 64, "unit": "mg/dL", "text": "3時間目の後にふらつきがあり保健室へ。指先の測定で64でした。ブドウ糖タブレット2個で、15分後には108まで戻りました。給食前の注射は通常どおり行っています。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 37,
        time: "15:40",
        author: "teacher.tanaka",
        category: "education",
        kind: "note",
        body: r#"{"text": "保健室で補食をとったことについて、クラスで「おやつずるい」という声が出たそうです。担任と相談し、帰りの会で「ひなたさんにとってはお薬と同じ」と短く話してもらいました。子どもたちはすぐに納得した様子です。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 35,
        time: "21:10",
        author: "guardian.sato",
        category: "medical",
        kind: "note",
        body: r#"{"text": "伊藤先生、夜中（2時ごろ）の低血糖が2日続いています。CGMのアラームで起きて補食しました。就寝前の注射の量を減らした方がよいでしょうか。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 34,
        time: "12:15",
        author: "doctor.ito",
        category: "medical",
        kind: "medication",
        body: r#"{"text": "夜間の低血糖が続いているため、持効型を1単位減らします。3日間は就寝前・夜中・起床時の値を記録して、次回の外来で見せてください。", "drug": "インスリン グラルギン（持効型）", "dose": "就寝前 6単位から5単位に減量"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 30,
        time: "10:00",
        author: "coordinator.yamada",
        category: "education",
        kind: "plan",
        body: r#"{"title": "ひなたさん 学校生活支援計画（1年生 2学期〜3学期）", "goals": ["給食前の血糖測定と注射を保健室で安全に行える", "低血糖のサインを本人が言葉で大人に伝えられる", "体育や校外学習に、ほかの子と同じように参加できる", "保護者が学校に呼ばれる回数を減らし、仕事を続けられる"], "review_date": "2027-02-26", "text": "支援会議の内容を計画にまとめました。見直しは3学期の支援会議で行います。気になる点があればこのノートに書いてください。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 28,
        time: "08:05",
        author: "guardian.sato",
        category: "education",
        kind: "attendance",
        body: r#"{"date": "2026-10-25", "status": "late", "reason": "起床時の高血糖（286mg/dL）のため、補正注射をして下がるのを確認してから登校します", "text": "10時ごろに送っていきます。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 24,
        time: "14:30",
        author: "phn.kato",
        category: "health",
        kind: "note",
        body: r#"{"text": "家庭訪問しました。夜間の血糖確認でお母さんの睡眠不足が続いています。CGMのアラーム設定の見直しを次回外来で相談するよう勧め、小児慢性特定疾病の医療費助成の更新手続きもご案内しました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 21,
        time: "12:25",
        author: "schoolnurse.ogawa",
        category: "health",
        kind: "vital",
        body: r#"{"measure": "blood_glucose", "value": 182, "unit": "mg/dL", "text": "給食前。指示どおり2単位に補正0.5単位を足して、本人が自分で注射できました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 21,
        time: "13:05",
        author: "schoolnurse.ogawa",
        category: "health",
        kind: "vital",
        body: r#"{"measure": "blood_glucose", "value": 128, "unit": "mg/dL", "text": "給食前。指示どおり2単位（補正なし）を本人が自分で注射できました。"}"#,
        revises: Some(10),
        reason: Some("測定値の転記誤り（182→128）と、それに伴う補正の記載を訂正します。実際の注射は2単位で、補正はしていません。"),
    },
    DemoEntry {
        days_ago: 14,
        time: "16:30",
        author: "teacher.tanaka",
        category: "education",
        kind: "note",
        body: r#"{"text": "来週の校外学習（みどり中央公園）には、養護教諭の小川先生が同行します。補食は本人のリュックと引率教員のバッグの両方に入れます。昼食前の血糖測定はベンチで行う予定です。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 7,
        time: "15:10",
        author: "schoolnurse.ogawa",
        category: "education",
        kind: "note",
        body: r#"{"text": "校外学習は無事に終わりました。出発前142、昼食前96で、補食なしで過ごせました。「ふらふらしない」と自分から教えてくれるようになり、成長を感じます。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 1,
        time: "19:45",
        author: "guardian.sato",
        category: "education",
        kind: "note",
        body: r#"{"text": "いつもありがとうございます。外来で伊藤先生と話し、来月から給食前の注射を本人が単位の確認まで一人でする練習を始めることになりました。引き続き見守りをお願いします。"}"#,
        revises: None,
        reason: None,
    },
];

const SOTA_MEMBERS: &[DemoMember] = &[
    DemoMember {
        login: "nurse.suzuki",
        role: "member",
        status: "active",
        categories: &["medical", "health", "family"],
        can_post: true,
        purpose: "訪問看護（人工呼吸器・吸引・経管栄養のケアと家族支援）",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "welfare.hayashi",
        role: "member",
        status: "active",
        categories: &["welfare", "family"],
        can_post: true,
        purpose: "児童発達支援と居宅介護の提供、サービス利用の調整",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "doctor.ito",
        role: "member",
        status: "active",
        categories: &["medical"],
        can_post: true,
        purpose: "主治医（小児科）として在宅人工呼吸器管理の指示",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "phn.kato",
        role: "member",
        status: "active",
        categories: ALL,
        can_post: true,
        purpose: "医療的ケア児等コーディネーター（保健師）として在宅生活を支える",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "coordinator.yamada",
        role: "member",
        status: "active",
        categories: ALL,
        can_post: true,
        purpose: "自立支援員として関係機関の調整と支援計画の作成",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "msw.shimizu",
        role: "member",
        status: "requested",
        categories: &["welfare", "family"],
        can_post: true,
        purpose: "レスパイト入院の調整（みどり総合病院 医療ソーシャルワーカー）",
        expires_in_days: None,
        regranted: false,
    },
];

const SOTA_ENTRIES: &[DemoEntry] = &[
    DemoEntry {
        days_ago: 42,
        time: "10:40",
        author: "nurse.suzuki",
        category: "medical",
        kind: "vital",
        body: r#"{"measure": "spo2", "value": 97, "unit": "%", "text": "定期訪問。呼吸器の設定変更なし、心拍112。吸引は1時間に2〜3回で、白色の痰がやや多めです。胃ろう周囲の皮膚はきれいです。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 41,
        time: "15:00",
        author: "phn.kato",
        category: "family",
        kind: "note",
        body: r#"{"text": "家庭訪問しました。夜間の吸引と注入で、お父さん・お母さんとも3時間以上続けて眠れていないそうです。小学2年のお姉ちゃんが最近学校で元気がないと、担任の先生から連絡があったとのことです。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 40,
        time: "21:30",
        author: "guardian.takahashi",
        category: "medical",
        kind: "vital",
        body: r#"{"measure": "temperature", "value": 37.8, "unit": "℃", "text": "夕方から37.8℃です。痰が黄色っぽく、吸引の回数が増えています。SpO2は94〜95%です。明日の訪問で診てもらえますか。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 39,
        time: "11:15",
        author: "nurse.suzuki",
        category: "medical",
        kind: "note",
        body: r#"{"text": "臨時訪問。右の背中側で痰の音が聞こえます。伊藤先生に報告し、体位ドレナージと吸入を1日4回に増やしました。熱は37.2℃に下がっています。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 38,
        time: "09:20",
        author: "doctor.ito",
        category: "medical",
        kind: "medication",
        body: r#"{"text": "痰の粘りが強いため去痰薬を再開します。SpO2 92%未満が続くとき、酸素を2L/分より多く必要とするとき、38.5℃以上の発熱が続くときは受診してください。", "drug": "カルボシステイン シロップ", "dose": "1回2.8mL 1日3回 胃ろうから注入"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 35,
        time: "15:30",
        author: "welfare.hayashi",
        category: "welfare",
        kind: "attendance",
        body: r#"{"date": "2026-10-18", "status": "present", "text": "児童発達支援に来所。看護師が吸引3回、注入1回を行いました。手遊び歌のときに声を出して笑う場面がありました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 33,
        time: "10:00",
        author: "coordinator.yamada",
        category: "family",
        kind: "plan",
        body: r#"{"title": "そうたさん 在宅生活支援計画", "goals": ["夜間のケアを分担し、保護者が週2回は続けて眠れる時間をつくる", "レスパイト入院を2か月に1回利用できるよう調整する", "お姉ちゃんが保護者とゆっくり過ごす時間を週1回つくる", "停電・災害時の個別避難計画を作成する"], "review_date": "2027-01-29", "text": "支援会議（訪問看護・ひだまり・保健師・保護者）の内容をまとめました。夜間の居宅介護の枠と、レスパイト入院の受け入れ先を探すことを優先します。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 30,
        time: "20:15",
        author: "guardian.takahashi",
        category: "family",
        kind: "note",
        body: r#"{"text": "夕食のとき、お姉ちゃんが「そうたばっかり」と泣きました。週末に1時間だけでも二人で出かけたいのですが、その間そうたを見てもらえる人がいません。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 28,
        time: "13:00",
        author: "welfare.hayashi",
        category: "family",
        kind: "note",
        body: r#"{"text": "土曜の午前に、喀痰吸引の研修を受けたヘルパー2名で居宅介護を2時間入れられるよう調整しました。来週から使えます。お父さんとお姉ちゃんのお出かけに使ってください。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 25,
        time: "11:30",
        author: "nurse.suzuki",
        category: "medical",
        kind: "vital",
        body: r#"{"measure": "spo2", "value": 98, "unit": "%", "text": "痰は白色に戻り、吸引は1時間に1回程度です。去痰薬が効いているようです。熱もありません。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 21,
        time: "16:00",
        author: "phn.kato",
        category: "welfare",
        kind: "note",
        body: r#"{"text": "レスパイト入院について、みどり総合病院の医療ソーシャルワーカー清水さんにつなぎました。清水さんからこのノートへの参加申請が出ていますので、お父さんの承認をお願いします。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 14,
        time: "19:00",
        author: "guardian.takahashi",
        category: "family",
        kind: "note",
        body: r#"{"text": "土曜に娘と水族館に行けました。娘がずっと笑っていて、久しぶりに二人でゆっくり話せました。ヘルパーさんの記録も丁寧で安心できました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 10,
        time: "09:10",
        author: "welfare.hayashi",
        category: "welfare",
        kind: "attendance",
        body: r#"{"date": "2026-11-12", "status": "absent", "reason": "痰が多く、自宅で様子をみるため（お父さんから連絡）"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 9,
        time: "10:30",
        author: "nurse.suzuki",
        category: "health",
        kind: "note",
        body: r#"{"text": "呼吸器の回路交換と加温加湿器の点検をしました。夜間に低換気アラームが2回記録されており、回路の結露が原因と思われます。寝る前にウォータートラップの水抜きをお願いします。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 2,
        time: "15:00",
        author: "coordinator.yamada",
        category: "family",
        kind: "note",
        body: r#"{"text": "来月、みどり総合病院での2泊のレスパイト入院が決まりました。入院中、ご家族はお姉ちゃんの学習発表会に行く予定です。持ち物の一覧は訪問看護の鈴木さんと確認してください。"}"#,
        revises: None,
        reason: None,
    },
];

const REN_MEMBERS: &[DemoMember] = &[
    DemoMember {
        login: "youth.watanabe",
        role: "youth",
        status: "active",
        categories: ALL,
        can_post: true,
        purpose: "本人として自分の記録を読み、書く",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "doctor.ito",
        role: "member",
        status: "active",
        categories: &["medical"],
        can_post: true,
        purpose: "小児科主治医として成人診療科への移行を進める",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "doctor.mori",
        role: "member",
        status: "active",
        categories: &["medical"],
        can_post: true,
        purpose: "成人先天性心疾患外来（循環器内科）への移行期の診療",
        expires_in_days: Some(90),
        regranted: false,
    },
    DemoMember {
        login: "msw.shimizu",
        role: "member",
        status: "active",
        categories: &["welfare", "employment"],
        can_post: true,
        purpose: "医療費助成の切り替えと、進学・就労の相談（医療ソーシャルワーカー）",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "coordinator.yamada",
        role: "member",
        status: "active",
        categories: ALL,
        can_post: true,
        purpose: "自立支援員として移行期支援計画の作成と関係機関の調整",
        expires_in_days: None,
        regranted: false,
    },
];

const REN_ENTRIES: &[DemoEntry] = &[
    DemoEntry {
        days_ago: 42,
        time: "11:30",
        author: "doctor.ito",
        category: "medical",
        kind: "note",
        body: r#"{"text": "外来。SpO2 93%で安定しています。来年度中に、みどり大学病院の成人先天性心疾患外来（森先生）へ移行する準備を始めます。今回から、診察の前半は本人だけで話す時間をとりました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 40,
        time: "21:00",
        author: "youth.watanabe",
        category: "medical",
        kind: "medication",
        body: r#"{"text": "薬を自分で管理するために、スマホのアプリで飲み忘れチェックを始めた。今週は7日とも飲めた。", "drug": "ワルファリン", "dose": "1日1回 夕食後"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 38,
        time: "16:20",
        author: "msw.shimizu",
        category: "employment",
        kind: "note",
        body: r#"{"text": "本人と面談しました。将来はプログラミングの仕事に関心があるそうです。体力面を考えて、在宅勤務がしやすい職種や、身体障害者手帳（心臓機能障害）を活かした働き方も含めて、選択肢を一緒に整理していきます。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 35,
        time: "09:00",
        author: "doctor.mori",
        category: "medical",
        kind: "note",
        body: r#"{"text": "伊藤先生から紹介状と手術記録を受け取りました。初診は本人中心で行い、保護者の方には後半に同席していただく予定です。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 33,
        time: "18:30",
        author: "guardian.watanabe",
        category: "medical",
        kind: "note",
        body: r#"{"text": "学校から、来月の持久走大会について相談がありました。学校生活管理指導表はD区分で、持久走は参加できないという理解で合っているでしょうか。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 32,
        time: "12:40",
        author: "doctor.ito",
        category: "medical",
        kind: "note",
        body: r#"{"text": "管理指導表はD区分（中等度の運動まで可、持久走は不可）のままで変わりありません。記録係や短い距離のウォーキングなど、本人が選んで参加できる形を学校と相談してください。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 30,
        time: "22:00",
        author: "youth.watanabe",
        category: "medical",
        kind: "vital",
        body: r#"{"measure": "spo2", "value": 92, "unit": "%", "text": "家で測った。駅の階段を上がったあとは88%まで下がったけど、座って休んだら5分くらいで戻った。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 28,
        time: "10:00",
        author: "coordinator.yamada",
        category: "welfare",
        kind: "plan",
        body: r#"{"title": "蓮さん 移行期支援計画（高校1年〜卒業）", "goals": ["高校卒業までに、服薬と受診予約を自分で管理できる", "1年かけて成人先天性心疾患外来への移行を終える", "医療費助成の切り替え（小児慢性特定疾病から指定難病など）の手続きを本人が理解する", "体調に合った進学・就労の選択肢を知り、自分で決められる"], "review_date": "2027-03-26", "text": "本人・保護者・主治医・MSWとの面談をもとに計画をつくりました。本人の言葉で目標を書いています。半年ごとに一緒に見直します。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 24,
        time: "17:00",
        author: "doctor.mori",
        category: "medical",
        kind: "note",
        body: r#"{"text": "成人外来の初診。本人が自分の病名、手術歴、飲んでいる薬を説明できました。PT-INRは2.1で目標範囲内です。次回は心エコーと血液検査（肝機能を含む）を行います。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 21,
        time: "20:30",
        author: "guardian.watanabe",
        category: "family",
        kind: "note",
        body: r#"{"text": "新しい病院に一人で行けたと、本人がうれしそうに話していました。親としては少しさみしいですが、口を出しすぎないように見守りたいと思います。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 18,
        time: "15:00",
        author: "msw.shimizu",
        category: "welfare",
        kind: "note",
        body: r#"{"text": "小児慢性特定疾病の医療費助成は18歳（継続の場合は20歳未満）までのため、その後の指定難病や自立支援医療（更生医療）への切り替えについて本人と保護者に説明しました。必要書類の一覧をお渡ししています。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 14,
        time: "20:45",
        author: "youth.watanabe",
        category: "employment",
        kind: "note",
        body: r#"{"text": "学校の進路面談で、情報系の専門学校と大学の両方を考えていると話した。オープンキャンパスは歩く距離が長いので、休める場所があるか先に問い合わせてみる。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 7,
        time: "13:30",
        author: "doctor.ito",
        category: "medical",
        kind: "handover",
        body: r#"{"from": "みどり総合病院 小児科 伊藤 誠", "to": "みどり大学病院 循環器内科 森 健一", "text": "小児科での経過（手術歴、カテーテル検査の結果、服薬、学校生活管理指導表）をまとめてお送りしました。今後の主治医は森先生とし、小児科は年1回の併診とします。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 3,
        time: "08:00",
        author: "youth.watanabe",
        category: "education",
        kind: "attendance",
        body: r#"{"date": "2026-11-19", "status": "late", "reason": "みどり大学病院の受診（心エコー）のため、午後から登校"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 2,
        time: "17:20",
        author: "doctor.mori",
        category: "medical",
        kind: "note",
        body: r#"{"text": "心エコーでは心室の動きは保たれています。肝臓の硬さの指標がやや高めのため、年1回の経過観察とします。脱水になりやすいので、発熱や下痢のときは早めに相談するよう本人と確認しました。"}"#,
        revises: None,
        reason: None,
    },
];

const YUI_MEMBERS: &[DemoMember] = &[
    DemoMember {
        login: "doctor.ito",
        role: "member",
        status: "active",
        categories: &["medical"],
        can_post: true,
        purpose: "主治医（小児科）として外来化学療法と感染予防の指示",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "teacher.kimura",
        role: "member",
        status: "active",
        categories: &["education", "medical"],
        can_post: true,
        purpose: "院内学級から前籍校への復学支援と学習の引継ぎ",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "teacher.tanaka",
        role: "member",
        status: "active",
        categories: &["education"],
        can_post: true,
        purpose: "学級担任として復学後の学校生活を支える",
        expires_in_days: None,
        regranted: true,
    },
    DemoMember {
        login: "msw.shimizu",
        role: "member",
        status: "active",
        categories: &["welfare", "family"],
        can_post: true,
        purpose: "療養生活と家族の相談、助成制度の案内（医療ソーシャルワーカー）",
        expires_in_days: None,
        regranted: false,
    },
    DemoMember {
        login: "coordinator.yamada",
        role: "member",
        status: "active",
        categories: ALL,
        can_post: true,
        purpose: "自立支援員として復学支援計画の作成と関係機関の調整",
        expires_in_days: None,
        regranted: false,
    },
];

const YUI_ENTRIES: &[DemoEntry] = &[
    DemoEntry {
        days_ago: 42,
        time: "14:00",
        author: "doctor.ito",
        category: "medical",
        kind: "medication",
        body: r#"{"text": "入院での治療が終わり、外来での維持療法に移ります。好中球が500/μL未満のときは登校を控えてください。学校で水ぼうそう・はしかの患者が出たときは、すぐに保護者から病院へ連絡をお願いします。", "drug": "メルカプトプリン、メトトレキサート（維持療法）", "dose": "メルカプトプリン 毎日夕食後、メトトレキサート 週1回（日曜）"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 40,
        time: "15:30",
        author: "teacher.kimura",
        category: "education",
        kind: "handover",
        body: r#"{"from": "みどり総合病院内 院内学級 木村 優子", "to": "みどり市立第一小学校 2年1組担任 田中 翔", "text": "院内学級での1年間の学習状況をお引き継ぎします。国語はほぼ学年相当ですが、算数はかけ算九九の7・8・9の段がまだ定着していません。疲れやすいので、主要教科は午前中に入れると集中できます。本人は髪のことを気にしているため、教室での帽子の着用を認めていただけると安心です。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 39,
        time: "16:10",
        author: "teacher.tanaka",
        category: "education",
        kind: "note",
        body: r#"{"text": "木村先生、丁寧なお引き継ぎをありがとうございます。座席は窓側の前方にし、教室に加湿器と手指消毒剤を用意しました。帽子の着用については学年の先生方と共有済みです。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 37,
        time: "10:00",
        author: "coordinator.yamada",
        category: "education",
        kind: "plan",
        body: r#"{"title": "ゆいさん 復学支援計画", "goals": ["感染予防の対応を学校と家庭でそろえ、安心して登校できる", "体調に合わせて、4時間目までの短縮登校から少しずつ時間をのばす", "算数のかけ算九九を3学期までに定着させる", "クラスの友だちが病気と治療を正しく理解し、自然に声をかけられる"], "review_date": "2027-01-22", "text": "復学支援会議（学校・院内学級・主治医・MSW・保護者）の内容をまとめました。当面は4時間目までの短縮登校とし、外来化学療法の日は欠席とします。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 35,
        time: "12:40",
        author: "teacher.tanaka",
        category: "education",
        kind: "attendance",
        body: r#"{"date": "2026-10-18", "status": "early_leave", "reason": "復学支援計画による短縮登校（4時間目終了後に下校）", "text": "約1年ぶりの登校でした。朝は緊張していましたが、自分で教室に入り、友だちと一緒に給食の準備を見ていました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 35,
        time: "20:00",
        author: "guardian.nakamura",
        category: "education",
        kind: "note",
        body: r#"{"text": "帰ってきて「だれも帽子のことを聞かなかった」とほっとした様子でした。ウィッグは暑くてかゆいと本人が嫌がるので、しばらくは帽子で通わせます。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 30,
        time: "11:00",
        author: "doctor.ito",
        category: "medical",
        kind: "note",
        body: r#"{"text": "外来受診。好中球は1,200/μLで、登校を続けて大丈夫です。次回の外来は2週間後、ビンクリスチンの点滴の日です。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 28,
        time: "15:45",
        author: "teacher.tanaka",
        category: "education",
        kind: "note",
        body: r#"{"text": "保護者の了解を得た内容で、学級にゆいさんの病気と治療の話をしました。木村先生に紹介していただいた絵本を使い、「うつる病気ではないこと」「みんなの手洗いがゆいさんを守ること」を伝えました。休み時間に手洗いを声かけし合う姿が見られます。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 21,
        time: "12:10",
        author: "teacher.tanaka",
        category: "education",
        kind: "note",
        body: r#"{"text": "2年2組で水ぼうそうの児童が1名出ました。ゆいさんのクラスとの接触は、昨日の体育の合同授業のみです。お母さんには電話でお伝えしました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 21,
        time: "17:30",
        author: "doctor.ito",
        category: "medical",
        kind: "medication",
        body: r#"{"text": "水ぼうそうの接触があったため、予防内服を行います。発疹や発熱が出たときは、すぐに病院へ連絡してください。", "drug": "アシクロビル（予防内服）", "dose": "接触後7日目から7日間 1日4回"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 17,
        time: "07:45",
        author: "guardian.nakamura",
        category: "education",
        kind: "attendance",
        body: r#"{"date": "2026-11-05", "status": "absent", "reason": "外来化学療法（点滴）のため", "text": "明日は通常どおり登校の予定です。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 14,
        time: "16:00",
        author: "msw.shimizu",
        category: "welfare",
        kind: "note",
        body: r#"{"text": "市の医療用ウィッグ購入費助成について、申請方法と必要書類をお母さんにお伝えしました。本人が帽子で過ごせているので、急がなくて大丈夫です。小児慢性特定疾病の医療費助成の更新時期もあわせて確認しました。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 10,
        time: "21:05",
        author: "guardian.nakamura",
        category: "medical",
        kind: "vital",
        body: r#"{"measure": "temperature", "value": 38.2, "unit": "℃", "text": "夜になって38.2℃の発熱です。解熱剤は使わず、指示どおり病院に電話しました。これから受診します。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 9,
        time: "10:00",
        author: "doctor.ito",
        category: "medical",
        kind: "note",
        body: r#"{"text": "昨夜受診。好中球は保たれており、血液培養をとって抗菌薬の点滴を1回行いました。今朝には解熱しています。かぜによる発熱と考えます。2日間は自宅で休み、その後は登校して構いません。"}"#,
        revises: None,
        reason: None,
    },
    DemoEntry {
        days_ago: 1,
        time: "15:20",
        author: "teacher.tanaka",
        category: "education",
        kind: "attendance",
        body: r#"{"date": "2026-11-21", "status": "present", "text": "今日から5時間目まで過ごしました。木村先生から届いたプリントで練習した九九の7の段を、みんなの前で全部言えました。"}"#,
        revises: None,
        reason: None,
    },
];

pub const CHILDREN: &[DemoChild] = &[
    DemoChild {
        name: "佐藤 ひなた",
        name_kana: "さとう ひなた",
        birth_date: "2020-02-18",
        disease_group: 7,
        diagnosis: "1型糖尿病（頻回インスリン注射、持続血糖測定器使用）",
        guardians: &["guardian.sato"],
        members: HINATA_MEMBERS,
        entries: HINATA_ENTRIES,
        asks: &[
            // The mother asks Dr Ito; his reply answers her.
            DemoAsk { entry: 5, to: &["doctor.ito"], needs_reply: true, reply_to: None },
            DemoAsk { entry: 6, to: &["guardian.sato"], needs_reply: false, reply_to: Some(5) },
            // Still open: in the teacher's and the school nurse's inboxes.
            DemoAsk { entry: 14, to: &["teacher.tanaka", "schoolnurse.ogawa"], needs_reply: true, reply_to: None },
        ],
        card: DemoCard {
            summary: "1型糖尿病でインスリン治療中です。低血糖（血糖70mg/dL未満、または冷や汗・ふるえ・顔色が悪い・ぼんやりする・急に機嫌が悪くなる）に注意してください。",
            steps: &[
                "低血糖のサインがあれば、その場で血糖を測る（測れないときは低血糖として対応する）",
                "意識があり飲み込めるときは、ブドウ糖10g（タブレット2個）またはジュース150mLをすぐにとらせる",
                "15分後に測り直し、70mg/dL未満ならもう一度補食する。回復したらビスケットなどを少し食べさせる",
                "意識がない・けいれんしている・飲み込めないときは、口に何も入れず横向きに寝かせて119番通報し、保健室のグルカゴン点鼻薬を使う",
                "保護者に連絡し、時刻・血糖値・行った対応をこのノートに記録する",
            ],
            hospital: "みどり総合病院 小児科（主治医 伊藤）／救急外来 代表 000-000-0001（24時間）",
            notes: "補食セットはランドセルと保健室に1つずつあります。体育・校外学習の前には血糖を確認します。インスリン注射は給食前に保健室で行います。",
        },
        contacts: &[
            ("guardian.sato", 1),
            ("schoolnurse.ogawa", 2),
            ("doctor.ito", 3),
        ],
    },
    DemoChild {
        name: "高橋 そうた",
        name_kana: "たかはし そうた",
        birth_date: "2022-05-20",
        disease_group: 11,
        diagnosis: "脳性麻痺（重症心身障害）、慢性呼吸不全（気管切開・在宅人工呼吸器管理）、胃ろうからの経管栄養",
        guardians: &["guardian.takahashi"],
        members: SOTA_MEMBERS,
        entries: SOTA_ENTRIES,
        asks: &[],
        card: DemoCard {
            summary: "気管切開をして在宅人工呼吸器を24時間使用しています。頻回の吸引と胃ろうからの注入が必要です。ふだんのSpO2は95〜98%です。",
            steps: &[
                "呼吸器のアラームが鳴ったら、まず本人の顔色・胸の動き・SpO2を確認する",
                "回路の外れ・ねじれ・結露を確認し、外れていればつなぎ直す",
                "痰の音がするとき、SpO2が90%未満のときは気管内吸引をする",
                "改善しなければ呼吸器を外し、酸素をつないだ蘇生バッグで手動換気する",
                "カニューレが抜けた・詰まったときは、予備のカニューレ（同じサイズ、または1サイズ小さいもの）に入れ替える",
                "SpO2が上がらない・顔色が悪いままのときは119番通報し、訪問看護ステーションと主治医に連絡する",
            ],
            hospital: "みどり総合病院 小児科（主治医 伊藤）／救急外来 代表 000-000-0001（24時間）",
            notes: "呼吸器の設定と気管カニューレのサイズはベッドサイドの掲示のとおり。停電時は外部バッテリー（約8時間）と足踏み式吸引器を使います。電力会社に医療機器使用者として登録済みです。",
        },
        contacts: &[
            ("guardian.takahashi", 1),
            ("nurse.suzuki", 2),
            ("doctor.ito", 3),
        ],
    },
    DemoChild {
        name: "渡辺 蓮",
        name_kana: "わたなべ れん",
        birth_date: "2010-09-05",
        disease_group: 4,
        diagnosis: "単心室症（三尖弁閉鎖症）、フォンタン手術後",
        guardians: &["guardian.watanabe"],
        members: REN_MEMBERS,
        entries: REN_ENTRIES,
        asks: &[
            DemoAsk { entry: 4, to: &["doctor.ito"], needs_reply: true, reply_to: None },
            DemoAsk { entry: 5, to: &[], needs_reply: false, reply_to: Some(4) },
        ],
        card: DemoCard {
            summary: "フォンタン手術後の先天性心疾患です。ワルファリンを内服しており、出血が止まりにくい状態です。ふだんのSpO2は90〜94%です。",
            steps: &[
                "動悸・胸の痛み・めまい・失神、いつもより強い唇や爪の紫色（チアノーゼ）があれば、すぐに運動をやめさせ、座らせるか横にする",
                "脈拍とSpO2を測る（脈が150回/分以上、極端に遅い・不規則、SpO2が85%未満のときは危険）",
                "意識がない・普段どおりの呼吸がないときは119番通報し、心肺蘇生とAEDを使う",
                "頭を打った・出血が止まらないときは、ワルファリン内服中であることを救急隊に伝える",
                "保護者と主治医に連絡する",
            ],
            hospital: "みどり大学病院 循環器内科（成人先天性心疾患外来 森）代表 000-000-0002／みどり総合病院 小児科（伊藤）代表 000-000-0001",
            notes: "学校生活管理指導表はD区分（持久走は不可）。脱水に弱いため、暑い日や発熱・下痢のときはこまめに水分をとります。お薬手帳と病状説明カードを本人が財布に入れています。",
        },
        contacts: &[
            ("guardian.watanabe", 1),
            ("doctor.ito", 2),
            ("doctor.mori", 3),
        ],
    },
    DemoChild {
        name: "中村 ゆい",
        name_kana: "なかむら ゆい",
        birth_date: "2018-07-10",
        disease_group: 1,
        diagnosis: "急性リンパ性白血病（寛解、外来で維持療法中）",
        guardians: &["guardian.nakamura"],
        members: YUI_MEMBERS,
        entries: YUI_ENTRIES,
        asks: &[
            DemoAsk { entry: 12, to: &["doctor.ito"], needs_reply: true, reply_to: None },
            DemoAsk { entry: 13, to: &["guardian.nakamura"], needs_reply: false, reply_to: Some(12) },
        ],
        card: DemoCard {
            summary: "急性リンパ性白血病で、外来で抗がん剤の維持療法を受けています。感染症にかかりやすく、発熱は緊急のサイン（発熱性好中球減少症）です。",
            steps: &[
                "37.5℃以上の発熱、寒気、ぐったりしているときは、解熱剤を使わずにすぐ保護者に連絡する",
                "保護者に連絡がつかないときは、みどり総合病院 小児科に直接電話して指示を受ける",
                "38.0℃以上のときは発熱性好中球減少症の可能性があるため、1時間以内に受診できるよう手配する",
                "意識がはっきりしない、呼吸が苦しそう、顔色が悪いときは119番通報する",
                "受診までは、マスクをつけてほかの児童から離れた保健室で休ませる",
            ],
            hospital: "みどり総合病院 小児科（主治医 伊藤）／小児病棟 代表 000-000-0001（24時間）",
            notes: "水ぼうそう・はしか・インフルエンザなどの患者が校内で出たら、当日中に保護者へ連絡してください。教室での帽子の着用は学校で了承済みです。",
        },
        contacts: &[
            ("guardian.nakamura", 1),
            ("doctor.ito", 2),
            ("msw.shimizu", 3),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    const KINDS: &[&str] = &[
        "note",
        "vital",
        "attendance",
        "medication",
        "plan",
        "handover",
    ];

    fn account(login: &str) -> Option<&'static DemoAccount> {
        ACCOUNTS.iter().find(|a| a.login == login)
    }

    fn body(entry: &DemoEntry) -> Option<Map<String, Value>> {
        match serde_json::from_str::<Value>(entry.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// Whether `author` may post in `category` of `child`.
    fn may_post(child: &DemoChild, author: &str, category: &str) -> bool {
        child.guardians.contains(&author)
            || child.members.iter().any(|m| {
                m.login == author
                    && m.status == "active"
                    && m.can_post
                    && m.categories.contains(&category)
            })
    }

    /// Age in whole years on `on`, both "YYYY-MM-DD".
    fn age(birth: &str, on: &str) -> Option<i64> {
        let parse = |s: &str| -> Option<(i64, i64, i64)> {
            let mut parts = s.split('-').map(|p| p.parse::<i64>().ok());
            Some((parts.next()??, parts.next()??, parts.next()??))
        };
        let (by, bm, bd) = parse(birth)?;
        let (y, m, d) = parse(on)?;
        Some(y - by - i64::from((m, d) < (bm, bd)))
    }

    fn check(errors: &[String]) {
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn accounts_orgs_and_counts_match_demo_md() {
        assert_eq!(ORGS.len(), 9);
        assert_eq!(ACCOUNTS.len(), 16);
        assert_eq!(CHILDREN.len(), 4);
        let mut errors = Vec::new();
        let fields = [
            "health",
            "medical",
            "welfare",
            "childcare",
            "education",
            "employment",
            "family_association",
            "npo",
            "government",
        ];
        for org in ORGS {
            if !fields.contains(&org.field) {
                errors.push(format!("org {}: field {}", org.key, org.field));
            }
        }
        for (i, a) in ACCOUNTS.iter().enumerate() {
            if ACCOUNTS[..i].iter().any(|b| b.login == a.login) {
                errors.push(format!("duplicate login {}", a.login));
            }
            if let Some(org) = a.org {
                if !ORGS.iter().any(|o| o.key == org) {
                    errors.push(format!("{}: unknown org {org}", a.login));
                }
            }
            let professional = a.kind == "professional";
            if professional != a.profession.is_some() {
                errors.push(format!("{}: profession vs kind", a.login));
            }
            if !["professional", "guardian", "youth", "admin"].contains(&a.kind) {
                errors.push(format!("{}: kind {}", a.login, a.kind));
            }
        }
        check(&errors);
    }

    #[test]
    fn children_members_and_contacts_are_consistent() {
        let mut errors = Vec::new();
        let ages = [6, 4, 16, 8];
        for (child, want) in CHILDREN.iter().zip(ages) {
            let c = child.name;
            if age(child.birth_date, "2026-11-22") != Some(want) {
                errors.push(format!("{c}: age on 2026-11-22 is not {want}"));
            }
            if !(1..=16).contains(&child.disease_group) {
                errors.push(format!("{c}: disease group"));
            }
            for g in child.guardians {
                if account(g).map(|a| a.kind) != Some("guardian") {
                    errors.push(format!("{c}: guardian {g} is not a guardian account"));
                }
            }
            for m in child.members {
                match account(m.login) {
                    None => errors.push(format!("{c}: unknown member {}", m.login)),
                    Some(a) if (a.kind == "youth") != (m.role == "youth") => {
                        errors.push(format!("{c}: role of {}", m.login));
                    }
                    Some(_) => {}
                }
                if !["member", "youth"].contains(&m.role) {
                    errors.push(format!("{c}: role {}", m.role));
                }
                if !["active", "requested"].contains(&m.status) {
                    errors.push(format!("{c}: status {}", m.status));
                }
                for cat in m.categories {
                    if !ALL.contains(cat) {
                        errors.push(format!("{c}: {} has category {cat}", m.login));
                    }
                }
            }
            let card = &child.card;
            if !(3..=6).contains(&card.steps.len()) {
                errors.push(format!("{c}: {} card steps", card.steps.len()));
            }
            for (i, (login, tier)) in child.contacts.iter().enumerate() {
                let active = child
                    .members
                    .iter()
                    .any(|m| m.login == *login && m.status == "active");
                if !child.guardians.contains(login) && !active {
                    errors.push(format!("{c}: contact {login} is not active"));
                }
                if usize::from(*tier) != i + 1 {
                    errors.push(format!("{c}: contact {login} tier {tier}"));
                }
            }
            if child.contacts.first().map(|c| c.0) != child.guardians.first().copied() {
                errors.push(format!("{c}: tier 1 is not the guardian"));
            }
        }
        let hinata: &[(&str, u8)] = &[
            ("guardian.sato", 1),
            ("schoolnurse.ogawa", 2),
            ("doctor.ito", 3),
        ];
        if CHILDREN[0].contacts != hinata {
            errors.push("child 1 contacts differ from DEMO.md".to_string());
        }
        check(&errors);
    }

    #[test]
    fn special_memberships_of_demo_md() {
        let find =
            |child: usize, login: &str| CHILDREN[child].members.iter().find(|m| m.login == login);
        let mori = find(2, "doctor.mori");
        assert_eq!(mori.and_then(|m| m.expires_in_days), Some(90));
        assert_eq!(find(1, "msw.shimizu").map(|m| m.status), Some("requested"));
        assert_eq!(find(3, "teacher.tanaka").map(|m| m.regranted), Some(true));
        let youth = find(2, "youth.watanabe");
        assert_eq!(youth.map(|m| (m.role, m.categories)), Some(("youth", ALL)));
        let regranted = CHILDREN
            .iter()
            .flat_map(|c| c.members)
            .filter(|m| m.regranted)
            .count();
        assert_eq!(regranted, 1);
    }

    #[test]
    fn entries_are_well_formed_and_authorised() {
        let mut errors = Vec::new();
        for child in CHILDREN {
            let c = child.name;
            if !(12..=15).contains(&child.entries.len()) {
                errors.push(format!("{c}: {} entries", child.entries.len()));
            }
            let mut last = (i64::MAX, "");
            for (i, e) in child.entries.iter().enumerate() {
                let at = format!("{c} #{i}");
                if account(e.author).is_none() {
                    errors.push(format!("{at}: unknown author {}", e.author));
                }
                if !ALL.contains(&e.category) {
                    errors.push(format!("{at}: category {}", e.category));
                }
                if !KINDS.contains(&e.kind) {
                    errors.push(format!("{at}: kind {}", e.kind));
                }
                if !may_post(child, e.author, e.category) {
                    errors.push(format!("{at}: {} may not post in {}", e.author, e.category));
                }
                let time_ok = e.time.len() == 5
                    && e.time.as_bytes()[2] == b':'
                    && e.time[..2].parse::<u8>().is_ok_and(|h| h < 24)
                    && e.time[3..].parse::<u8>().is_ok_and(|m| m < 60);
                if !time_ok {
                    errors.push(format!("{at}: time {}", e.time));
                }
                // Oldest first: days_ago never grows, times grow within a day.
                let ordered = e.days_ago < last.0 || (e.days_ago == last.0 && e.time > last.1);
                if !ordered {
                    errors.push(format!("{at}: out of order"));
                }
                last = (e.days_ago, e.time);
                if !(0..=45).contains(&e.days_ago) {
                    errors.push(format!("{at}: days_ago {}", e.days_ago));
                }
                if let Err(msg) = check_body(e) {
                    errors.push(format!("{at}: {msg}"));
                }
                match e.revises {
                    None if e.reason.is_some() => errors.push(format!("{at}: reason alone")),
                    None => {}
                    Some(j) => {
                        let ok = j < i
                            && child.entries.get(j).is_some_and(|o| {
                                o.author == e.author
                                    && o.category == e.category
                                    && o.kind == e.kind
                                    && o.revises.is_none()
                            });
                        if !ok || e.reason.is_none() {
                            errors.push(format!("{at}: bad revision of #{j}"));
                        }
                    }
                }
            }
        }
        check(&errors);
    }

    fn check_body(e: &DemoEntry) -> Result<(), String> {
        let map = body(e).ok_or("body is not a JSON object")?;
        let allowed: &[&str] = match e.kind {
            "note" => &["text"],
            "medication" => &["text", "drug", "dose"],
            "plan" => &["text", "title", "goals", "review_date"],
            "handover" => &["text", "from", "to"],
            "vital" => &["measure", "value", "unit", "text"],
            "attendance" => &["date", "status", "reason", "text"],
            other => return Err(format!("kind {other}")),
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("field {k} not allowed for {}", e.kind));
        }
        let string = |k: &str| map.get(k).and_then(Value::as_str);
        for k in allowed {
            match map.get(*k) {
                None | Some(Value::String(_)) => {}
                Some(Value::Array(goals)) if *k == "goals" => {
                    if goals.is_empty() || !goals.iter().all(Value::is_string) {
                        return Err("goals must be strings".into());
                    }
                }
                Some(Value::Number(_)) if *k == "value" => {}
                Some(_) => return Err(format!("field {k} has the wrong type")),
            }
        }
        match e.kind {
            "vital" => {
                let units = [
                    ("blood_glucose", "mg/dL"),
                    ("spo2", "%"),
                    ("temperature", "℃"),
                    ("heart_rate", "bpm"),
                    ("weight", "kg"),
                ];
                let pair = (
                    string("measure").unwrap_or(""),
                    string("unit").unwrap_or(""),
                );
                if !units.contains(&pair) || !map.get("value").is_some_and(Value::is_number) {
                    return Err(format!("vital {pair:?}"));
                }
            }
            "attendance" => {
                let statuses = ["present", "absent", "late", "early_leave"];
                if !statuses.contains(&string("status").unwrap_or("")) {
                    return Err("attendance status".into());
                }
                let date = string("date").unwrap_or("");
                if age(date, date) != Some(0) || date.len() != 10 {
                    return Err(format!("attendance date {date}"));
                }
            }
            _ => {
                if string("text").is_none_or(str::is_empty) {
                    return Err("missing text".into());
                }
            }
        }
        if e.kind == "plan"
            && ["title", "goals", "review_date"]
                .iter()
                .any(|k| !map.contains_key(*k))
        {
            return Err("plan needs title, goals and review_date".into());
        }
        Ok(())
    }

    #[test]
    fn demo_md_story_elements_are_present() {
        let yui = &CHILDREN[3];
        let handover = yui.entries.iter().find(|e| {
            e.kind == "handover" && e.author == "teacher.kimura" && e.category == "education"
        });
        let body = handover.and_then(body);
        let name = |login| account(login).map_or("?", |a| a.display_name);
        let field = |k: &str| {
            body.as_ref()
                .and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        assert!(field("from").contains(name("teacher.kimura")));
        assert!(field("to").contains(name("teacher.tanaka")));
        let revisions = CHILDREN
            .iter()
            .flat_map(|c| c.entries)
            .filter(|e| e.revises.is_some())
            .count();
        assert!(revisions >= 1);
        for child in CHILDREN {
            let plans: Vec<_> = child.entries.iter().filter(|e| e.kind == "plan").collect();
            assert!(
                plans.iter().all(|e| e.author == "coordinator.yamada") && !plans.is_empty(),
                "{}: plan",
                child.name
            );
            let kinds = KINDS
                .iter()
                .filter(|k| child.entries.iter().any(|e| e.kind == **k))
                .count();
            assert!(kinds >= 4, "{}: only {kinds} kinds", child.name);
        }
    }
}
